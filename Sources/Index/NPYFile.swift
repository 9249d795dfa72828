import Common
import Foundation
import Tensor
import VideoData

/// Float32 `.npy` files as tensors (VideoData.NPY does the header): the input and output of `decouple forward`.
public enum NPYFile {
    public static func readFloat32(_ path: String) throws -> Tensor {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileError(
                path: path, problem: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        defer { try? handle.close() }
        let bytes = [UInt8]((try? handle.readToEnd()) ?? Data())
        guard let header = NPY.parseHeader(bytes) else {
            throw FileError(path: path, problem: "is not a .npy file (or uses Fortran order)")
        }
        guard header.dtype == "<f4" else {
            throw FileError(path: path, problem: "holds \(header.dtype), not float32 (<f4)")
        }
        let (count, overflow) = header.shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        guard !overflow, count <= Int.max / 4 else {
            throw FileError(path: path, problem: "has shape \(header.shape), too large to hold in memory")
        }
        guard bytes.count - header.dataOffset == 4 * count else {
            throw FileError(
                path: path,
                problem:
                    "is truncated or padded: shape \(header.shape) needs \(4 * count) data bytes, the file has \(bytes.count - header.dataOffset)"
            )
        }
        return Tensor(shape: header.shape) { out in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(out.baseAddress!).copyMemory(
                    from: raw.baseAddress! + header.dataOffset, byteCount: 4 * count)
            }
        }
    }

    /// Writes `t` as a float32 `.npy` through `Common.AtomicFile`.
    public static func writeFloat32(_ t: Tensor, to path: String) throws {
        var data = Data(NPY.header(dtype: .float32, shape: t.shape))
        t.withUnsafeBufferPointer {
            data.append(
                UnsafeBufferPointer(
                    start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: 4 * $0.count))
        }
        do { try AtomicFile.write(data, to: path) } catch let error as FileWriteError {
            throw FileError(path: path, problem: "cannot be written (\(error.reason))")
        }
    }
}
