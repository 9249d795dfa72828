import Explorer
import Foundation
import Testing
import VideoData

@Suite("peek") struct Peek {
    @Test func peek() throws {
        let img = Fixtures.picture()
        for p in PixelProtocol.allCases {
            let b = try ChafaEncoder.encode(img, proto: p, columns: 10, rows: 4, cell: CellPixels(width: 8, height: 16), imageID: 7)
            print(p, b.count, String(decoding: b.prefix(160), as: UTF8.self).debugDescription)
            print(String(decoding: b.suffix(40), as: UTF8.self).debugDescription)
        }
        let m = try ChafaEncoder.mosaic(img, columns: 20, rows: 6, truecolor: true)
        print(m.plainText); print(m.styleDump.prefix(300))
    }
}
