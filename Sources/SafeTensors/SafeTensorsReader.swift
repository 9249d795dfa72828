import Foundation

/// Where one tensor sits in a safetensors file, as its header says.
public struct SafeTensorsEntry: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    /// Byte range inside the data section (after the 8-byte length and the JSON header).
    public var dataOffsets: Range<Int>
}

/// A safetensors file mapped into memory (read-only). The header is parsed and every entry is
/// checked against the file size when the file opens, so a truncated or foreign file fails here
/// with one sentence, never later while reading values.
///
/// Format (huggingface/safetensors): u64 little-endian header length `n`, `n` bytes of JSON
/// `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`,
/// then the data section that the offsets index.
///
/// Thread safety: immutable after `init`; reads from several threads are fine.
public final class SafeTensorsReader: @unchecked Sendable {
    /// The file this reader maps.
    public let path: String
    /// Entries in data-offset order.
    public let entries: [SafeTensorsEntry]
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]

    private let byName: [String: Int]
    private let mapping: UnsafeMutableRawPointer?
    private let mappedLength: Int
    private let dataStart: Int

    /// Maps and validates `path`.
    /// - Throws: `SafeTensorsError` for a missing, unreadable, truncated or non-safetensors file.
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SafeTensorsError(path: path, problem: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw SafeTensorsError(path: path, problem: "is a directory, not a safetensors file")
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw SafeTensorsError(path: path, problem: "cannot be opened (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SafeTensorsError(path: path, problem: "cannot be read (\(String(cString: strerror(errno))))")
        }
        let length = Int(info.st_size)
        guard length >= 8 else {
            throw SafeTensorsError(
                path: path,
                problem: "is not a safetensors file (\(length) bytes, shorter than the 8-byte header length)")
        }
        guard let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw SafeTensorsError(path: path, problem: "cannot be mapped (\(String(cString: strerror(errno))))")
        }
        mapping = base
        mappedLength = length
        do {
            let headerLength = Int(clamping: UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
            let parsed = try Self.parseHeader(
                base: UnsafeRawPointer(base), fileLength: length, headerLength: headerLength, path: path)
            entries = parsed.entries
            metadata = parsed.metadata
            dataStart = 8 + headerLength
            byName = Dictionary(uniqueKeysWithValues: parsed.entries.enumerated().map { ($1.name, $0) })
        } catch {
            munmap(base, length)
            throw error
        }
    }

    deinit {
        if let mapping { munmap(mapping, mappedLength) }
    }

    /// Tensor names in data-offset order.
    public var names: [String] { entries.map(\.name) }

    /// The entry called `name`, or nil.
    public func entry(_ name: String) -> SafeTensorsEntry? { byName[name].map { entries[$0] } }

    /// The values of `name` converted to float32, with its shape; nil when absent.
    public func tensor(_ name: String) -> FloatTensor? {
        guard let e = entry(name) else { return nil }
        let count = e.shape.reduce(1, *)
        let values = convertToFloat(
            e.dtype, UnsafeRawPointer(mapping!) + dataStart + e.dataOffsets.lowerBound, count: count)
        return FloatTensor(shape: e.shape, values: values)
    }

    /// Calls `body` with the values of `name` as float32 and returns its result; nil when absent.
    /// An F32 tensor whose data is 4-byte aligned in the file (always so for files from
    /// `SafeTensorsWriter` and the reference writer) is read in place from the mapping, with no
    /// copy; other dtypes are converted into a temporary copy first. The pointer is valid only
    /// during the call.
    public func withFloats<R>(_ name: String, _ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R? {
        guard let e = entry(name) else { return nil }
        let count = e.shape.reduce(1, *)
        let start = UnsafeRawPointer(mapping!) + dataStart + e.dataOffsets.lowerBound
        if e.dtype == .f32, Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 {
            return try body(UnsafeBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: count))
        }
        return try convertToFloat(e.dtype, start, count: count).withUnsafeBufferPointer(body)
    }

    /// Every tensor, converted to float32.
    public func allTensors() -> [String: FloatTensor] {
        var out: [String: FloatTensor] = [:]
        for e in entries { out[e.name] = tensor(e.name) }
        return out
    }

    // MARK: - Header

    static func parseHeader(base: UnsafeRawPointer, fileLength: Int, headerLength: Int, path: String) throws -> (
        entries: [SafeTensorsEntry], metadata: [String: String]
    ) {
        func fail(_ problem: String) -> SafeTensorsError { SafeTensorsError(path: path, problem: problem) }
        guard headerLength > 1, headerLength <= 100_000_000 else {
            throw fail("is not a safetensors file (the first 8 bytes give a header length of \(headerLength) bytes)")
        }
        guard 8 + headerLength <= fileLength else {
            throw fail(
                "is truncated or not a safetensors file (header of \(headerLength) bytes, but the file has only \(fileLength - 8) after the length)"
            )
        }
        let headerData = Data(bytes: base + 8, count: headerLength)
        guard headerData.first == UInt8(ascii: "{"),
            let object = try? JSONSerialization.jsonObject(with: headerData), let header = object as? [String: Any]
        else {
            throw fail("is not a safetensors file (the header is not a JSON object)")
        }
        let dataLength = fileLength - 8 - headerLength
        var entries: [SafeTensorsEntry] = []
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw fail("has a malformed header (__metadata__ is not an object)")
                }
                for (k, v) in map {
                    guard let s = v as? String else {
                        throw fail("has a malformed header (__metadata__ value for \"\(k)\" is not a string)")
                    }
                    metadata[k] = s
                }
                continue
            }
            guard let fields = value as? [String: Any], let dtypeName = fields["dtype"] as? String,
                let shapeValues = fields["shape"] as? [Any], let offsetValues = fields["data_offsets"] as? [Any],
                offsetValues.count == 2
            else { throw fail("has a malformed header (entry \"\(name)\" lacks dtype, shape or data_offsets)") }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                throw fail(
                    "has tensor \"\(name)\" of dtype \(dtypeName), which is not supported (F32, F16, BF16, F64, I64, I32)"
                )
            }
            let shape = shapeValues.compactMap { ($0 as? NSNumber)?.intValue }
            let offsets = offsetValues.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }), offsets.count == 2, offsets[0] >= 0,
                offsets[1] >= offsets[0]
            else {
                throw fail("has a malformed header (entry \"\(name)\" has an invalid shape or data_offsets)")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            let (bytes, bytesOverflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, !bytesOverflow, offsets[1] - offsets[0] == bytes else {
                throw fail(
                    "has tensor \"\(name)\" whose byte range (\(offsets[1] - offsets[0]) bytes) does not match shape \(shape) of \(dtypeName)"
                )
            }
            guard offsets[1] <= dataLength else {
                throw fail(
                    "is truncated (tensor \"\(name)\" ends at byte \(offsets[1]) of the data section, which has only \(dataLength) bytes)"
                )
            }
            entries.append(
                SafeTensorsEntry(name: name, dtype: dtype, shape: shape, dataOffsets: offsets[0]..<offsets[1]))
        }
        entries.sort { ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name) }
        for (a, b) in zip(entries, entries.dropFirst()) where a.dataOffsets.upperBound > b.dataOffsets.lowerBound {
            throw fail("has a malformed header (tensors \"\(a.name)\" and \"\(b.name)\" overlap)")
        }
        return (entries, metadata)
    }
}
