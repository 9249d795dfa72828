import Common
import Foundation

/// Writes float32 tensors in the safetensors format.
public enum SafeTensorsWriter {
    /// Serialises `tensors` (names sorted, data packed in that order) and `metadata`.
    /// The header is padded with spaces to a multiple of 8 bytes, as the reference writer does,
    /// so every tensor's data starts 4-byte aligned in a mapped file.
    public static func encode(_ tensors: [String: FloatTensor], metadata: [String: String] = [:]) -> Data {
        let names = tensors.keys.sorted()
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let bytes = t.values.count * 4
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append(
                "\(jsonQuoted(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            )
            offset += bytes
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
        var data = Data(capacity: 8 + headerBytes.count + offset)
        var length = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for name in names {
            tensors[name]!.values.withUnsafeBufferPointer { buffer in
                // float32 is stored little-endian; this package builds only for little-endian hosts.
                data.append(
                    UnsafeBufferPointer(
                        start: UnsafeRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: UInt8.self),
                        count: buffer.count * 4))
            }
        }
        return data
    }

    /// Writes `tensors` to `path` atomically (`Common.AtomicFile`): a reader never sees a
    /// half-written file.
    /// - Throws: `SafeTensorsError` naming `path` when the directory is not writable or the disk is full.
    public static func write(_ tensors: [String: FloatTensor], metadata: [String: String] = [:], to path: String) throws
    {
        do { try AtomicFile.write(encode(tensors, metadata: metadata), to: path) } catch let error as FileWriteError {
            throw SafeTensorsError(path: path, problem: "cannot be written (\(error.reason))")
        }
    }
}
