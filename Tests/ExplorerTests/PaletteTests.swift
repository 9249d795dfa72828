import Explorer
import Testing

@Suite("Palette and thumbnails")
struct PaletteTests {
    @Test("cube and grey colours map to themselves; the low 16 are never used")
    func nearest256() {
        for index in 16...255 {
            let (r, g, b) = Palette.rgb(xterm: index)
            let got = Int(Palette.nearest256(r, g, b))
            #expect(Palette.rgb(xterm: got) == (r, g, b) || got == index, "index \(index) -> \(got)")
            #expect(got >= 16)
        }
        #expect(Palette.nearest256(0, 0, 0) == 16)
        #expect(Palette.nearest256(255, 255, 255) == 231)
        #expect(Palette.nearest256(128, 128, 128) == 244)
    }

    @Test("8/16 colours stay within the palette; dithering mixes two colours on a mid grey")
    func ansi() {
        for c in [8, 16] {
            var seen = Set<Int16>()
            for y in 0..<4 {
                // A grey between two palette greys: black/white for 8 colours, black/grey for 16.
                let v = c == 8 ? 110 : 64
                for x in 0..<4 { seen.insert(Palette.dithered(v, v, v, x: x, y: y, count: c)) }
            }
            #expect(seen.allSatisfy { $0 >= 0 && $0 < c })
            #expect(seen.count >= 2)
        }
        #expect(Palette.nearestANSI(250, 0, 0, count: 16) == 9)
        #expect(Palette.nearestANSI(250, 0, 0, count: 8) == 1)
    }

    @Test("box filter: exact averages, any size")
    func resize() {
        let img = Fixtures.picture(width: 4, height: 2)
        let one = Thumbnail.resize(img, width: 1, height: 1)
        let avg = (0..<3).map { c in (0..<8).map { Int(img.pixels[$0 * 3 + c]) }.reduce(0, +) }
        #expect(one.pixels == avg.map { UInt8(($0 + 4) / 8) })
        let up = Thumbnail.resize(img, width: 8, height: 4)
        #expect(up.pixel(x: 7, y: 3) == img.pixel(x: 3, y: 1))
        let odd = Thumbnail.resize(Fixtures.picture(), width: 13, height: 7)
        #expect(odd.width == 13 && odd.height == 7)
    }
}
