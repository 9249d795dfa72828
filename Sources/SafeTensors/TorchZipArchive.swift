import Foundation

/// The zip container `torch.save` writes (PyTorch >= 1.6): `<root>/data.pkl`, `<root>/data/<key>`
/// storages, `<root>/version`, `<root>/byteorder`, all *stored* (no compression), each data start
/// padded to 64 bytes. Only what that needs is read: the end-of-central-directory record (and its
/// ZIP64 form), the central directory, local headers, and CRC-32 checks. Deflated entries are
/// refused with a clear message rather than inflated: torch never writes them.
struct TorchZipArchive {
    struct Entry {
        var name: String
        var method: UInt16
        var crc32: UInt32
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
    }

    let path: String
    let data: Data
    /// Entries in central-directory order.
    let entries: [Entry]
    private let byName: [String: Int]

    /// Parses the archive's directory. Throws `TorchCheckpointError` for anything that is not a
    /// complete zip archive.
    init(path: String, data: Data) throws {
        self.path = path
        self.data = data
        func fail(_ problem: String) -> TorchCheckpointError { TorchCheckpointError(path: path, problem: problem) }
        let n = data.count
        // The end-of-central-directory record is the last 22 bytes plus a comment of at most 64 KB.
        var eocd = -1
        var i = n - 22
        let lowest = max(0, n - 22 - 65_535)
        while i >= lowest {
            if data.u32(i) == 0x0605_4b50 {
                eocd = i
                break
            }
            i -= 1
        }
        guard eocd >= 0 else {
            throw fail("is truncated or not a zip archive (no end-of-central-directory record)")
        }
        // The 64-bit fields below are clamped to Int.max, so every bound is checked by subtraction
        // from the file length: no sum of hostile values can overflow.
        var count = Int(data.u16(eocd + 10))
        var directorySize = Int(data.u32(eocd + 12))
        var directoryOffset = Int(data.u32(eocd + 16))
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: a locator just before the record points at the 64-bit record.
            let locator = eocd - 20
            guard locator >= 0, data.u32(locator) == 0x0706_4b50 else {
                throw fail("is a damaged ZIP64 archive (no ZIP64 locator)")
            }
            let record = Int(clamping: data.u64(locator + 8))
            guard record >= 0, record <= n - 56, data.u32(record) == 0x0606_4b50 else {
                throw fail("is a damaged ZIP64 archive (no ZIP64 end-of-central-directory record)")
            }
            count = Int(clamping: data.u64(record + 32))
            directorySize = Int(clamping: data.u64(record + 40))
            directoryOffset = Int(clamping: data.u64(record + 48))
        }
        guard directoryOffset >= 0, directorySize >= 0, directorySize <= n, directoryOffset <= n - directorySize else {
            throw fail("is truncated (its central directory lies past the end of the file)")
        }
        var entries: [Entry] = []
        var p = directoryOffset
        for _ in 0..<count {
            guard p + 46 <= n, data.u32(p) == 0x0201_4b50 else { throw fail("has a damaged zip central directory") }
            let method = data.u16(p + 10)
            let crc = data.u32(p + 16)
            var compressed = Int(data.u32(p + 20))
            var size = Int(data.u32(p + 24))
            let nameLength = Int(data.u16(p + 28))
            let extraLength = Int(data.u16(p + 30))
            let commentLength = Int(data.u16(p + 32))
            var offset = Int(data.u32(p + 42))
            guard p + 46 + nameLength + extraLength + commentLength <= n else {
                throw fail("has a damaged zip central directory")
            }
            let name = String(decoding: data[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            // ZIP64 extra field (id 1): 64-bit values for exactly the fields that are saturated.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = data.u16(e)
                let length = Int(data.u16(e + 2))
                if id == 0x0001 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF, q + 8 <= e + 4 + length {
                        size = Int(clamping: data.u64(q))
                        q += 8
                    }
                    if compressed == 0xFFFF_FFFF, q + 8 <= e + 4 + length {
                        compressed = Int(clamping: data.u64(q))
                        q += 8
                    }
                    if offset == 0xFFFF_FFFF, q + 8 <= e + 4 + length { offset = Int(clamping: data.u64(q)) }
                }
                e += 4 + length
            }
            entries.append(
                Entry(
                    name: name, method: method, crc32: crc, compressedSize: compressed, size: size,
                    localHeaderOffset: offset))
            p += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
        byName = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// The stored bytes of `entry`, after checking its local header, bounds and CRC-32.
    func contents(of entry: Entry) throws -> Data {
        func fail(_ problem: String) -> TorchCheckpointError { TorchCheckpointError(path: path, problem: problem) }
        guard entry.method == 0 else {
            throw fail(
                "has entry \(entry.name) compressed with zip method \(entry.method); torch.save stores entries uncompressed, so re-save the checkpoint with torch.save"
            )
        }
        let h = entry.localHeaderOffset
        guard h >= 0, h <= data.count - 30, data.u32(h) == 0x0403_4b50 else {
            throw fail("is truncated or damaged (no local header for \(entry.name))")
        }
        let start = h + 30 + Int(data.u16(h + 26)) + Int(data.u16(h + 28))
        guard entry.size == entry.compressedSize, entry.size >= 0, entry.size <= data.count - start else {
            throw fail("is truncated (entry \(entry.name) ends past the end of the file)")
        }
        let bytes = data.subdata(in: start..<(start + entry.size))
        let crc = CRC32.checksum(bytes)
        guard crc == entry.crc32 else {
            throw fail("is damaged (entry \(entry.name) fails its CRC-32 check)")
        }
        return bytes
    }
}

/// CRC-32 (IEEE 802.3, the zip checksum), table-driven.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ data: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                for b in raw { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
            }
        }
        return c ^ 0xFFFF_FFFF
    }
}

extension Data {
    /// Little-endian reads at an absolute byte offset from `startIndex` (callers check bounds).
    fileprivate func u16(_ offset: Int) -> UInt16 {
        withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    }

    fileprivate func u32(_ offset: Int) -> UInt32 {
        withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    fileprivate func u64(_ offset: Int) -> UInt64 {
        withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }
}
