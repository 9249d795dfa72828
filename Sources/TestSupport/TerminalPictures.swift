import Foundation
import VideoData

/// Decoders for the picture sequences the explorer writes (kitty graphics, sixel), so tests can
/// compare what a terminal would show with the frame it should show; and the comparison.
public enum TerminalPictures {
    /// The first kitty image in `bytes` (`ESC _G keys ; base64 ESC \` chunks, raw f=24 or
    /// f=32 pixels), as RGB. Nil when there is none or it is malformed.
    public static func decodeKitty(_ bytes: [UInt8]) -> RGBImage? {
        let s = String(decoding: bytes, as: UTF8.self)
        var keys: [String: String] = [:]
        // Each chunk is its own base64 text, padding included (chafa pads every chunk).
        var payload = Data()
        var rest = Substring(s)
        while let start = rest.range(of: "\u{1B}_G") {
            guard let end = rest[start.upperBound...].range(of: "\u{1B}\\") else { break }
            let body = rest[start.upperBound..<end.lowerBound]
            let parts = body.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
            for kv in parts[0].split(separator: ",") {
                let p = kv.split(separator: "=", maxSplits: 1)
                if p.count == 2, keys[String(p[0])] == nil { keys[String(p[0])] = String(p[1]) }
            }
            if parts.count == 2 {
                guard let chunk = Data(base64Encoded: String(parts[1])) else { return nil }
                payload += chunk
            }
            rest = rest[end.upperBound...]
        }
        guard let f = keys["f"].flatMap(Int.init), f == 24 || f == 32, let w = keys["s"].flatMap(Int.init),
            let h = keys["v"].flatMap(Int.init)
        else { return nil }
        let data = payload
        let bpp = f / 8
        guard data.count >= w * h * bpp else { return nil }
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
            for i in 0..<(w * h) {
                rgb[i * 3] = src[i * bpp]
                rgb[i * 3 + 1] = src[i * bpp + 1]
                rgb[i * 3 + 2] = src[i * bpp + 2]
            }
        }
        return RGBImage(width: w, height: h, pixels: rgb)
    }

    /// The first sixel image in `bytes` (`ESC P … q` to `ESC \`): raster attributes for the
    /// size, `#n;2;r;g;b` colour registers in percent, `#n` selects, `!n` repeats, `$` returns,
    /// `-` moves down six rows. Pixels never painted stay black.
    public static func decodeSixel(_ bytes: [UInt8]) -> RGBImage? {
        guard let dcs = find(bytes, [0x1B, 0x50]), let q = bytes[dcs...].firstIndex(of: UInt8(ascii: "q")) else {
            return nil
        }
        var i = q + 1
        var width = 0
        var height = 0
        var palette = [(UInt8, UInt8, UInt8)](repeating: (0, 0, 0), count: 1024)
        var color = 0
        var x = 0
        var band = 0
        var pixels: [UInt8] = []
        func number() -> [Int] {
            var out: [Int] = []
            var cur: Int? = nil
            while i < bytes.count {
                let b = bytes[i]
                if b >= 0x30 && b <= 0x39 {
                    cur = (cur ?? 0) * 10 + Int(b - 0x30)
                } else if b == UInt8(ascii: ";") {
                    out.append(cur ?? 0)
                    cur = nil
                } else {
                    break
                }
                i += 1
            }
            if let c = cur { out.append(c) }
            return out
        }
        func paint(_ bits: UInt8, count: Int) {
            guard width > 0 else { return }
            for _ in 0..<count {
                if x < width {
                    for k in 0..<6 where bits & (1 << k) != 0 {
                        let y = band * 6 + k
                        if y < height {
                            let o = (y * width + x) * 3
                            let c = palette[color]
                            pixels[o] = c.0
                            pixels[o + 1] = c.1
                            pixels[o + 2] = c.2
                        }
                    }
                }
                x += 1
            }
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x1B { break }
            i += 1
            switch b {
            case UInt8(ascii: "\""):
                let p = number()
                if p.count >= 4 {
                    width = p[2]
                    height = p[3]
                    pixels = [UInt8](repeating: 0, count: width * height * 3)
                }
            case UInt8(ascii: "#"):
                let p = number()
                guard let n = p.first, n < palette.count else { continue }
                color = n
                if p.count >= 5 && p[1] == 2 {
                    func pct(_ v: Int) -> UInt8 { UInt8(min(255, (v * 255 + 50) / 100)) }
                    palette[n] = (pct(p[2]), pct(p[3]), pct(p[4]))
                }
            case UInt8(ascii: "!"):
                let n = number().first ?? 1
                if i < bytes.count, bytes[i] >= 0x3F, bytes[i] <= 0x7E {
                    paint(bytes[i] - 0x3F, count: n)
                    i += 1
                }
            case UInt8(ascii: "$"):
                x = 0
            case UInt8(ascii: "-"):
                x = 0
                band += 1
            case 0x3F...0x7E:
                paint(b - 0x3F, count: 1)
            default:
                break
            }
        }
        return width > 0 && height > 0 ? RGBImage(width: width, height: height, pixels: pixels) : nil
    }

    static func find(_ bytes: [UInt8], _ needle: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if Array(bytes[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    /// PSNR in dB of `a` against `b` over their common top-left area (sixel pictures may be a
    /// few rows shorter: sixel bands are six pixels high).
    public static func psnr(_ a: RGBImage, _ b: RGBImage) -> Double {
        let w = min(a.width, b.width)
        let h = min(a.height, b.height)
        guard w > 0, h > 0 else { return 0 }
        var se = 0.0
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<3 {
                    let d = Double(a.pixels[(y * a.width + x) * 3 + c]) - Double(b.pixels[(y * b.width + x) * 3 + c])
                    se += d * d
                }
            }
        }
        let mse = se / Double(w * h * 3)
        return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
    }
}
