import Common
import Foundation

/// An append-only file with a write buffer; `close()` flushes it to the disk. Errors name the file.
final class BufferedFile {
    let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private let capacity = 1 << 20

    init(creating path: String) throws(MediaError) {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let h = FileHandle(forWritingAtPath: path)
        else { throw MediaError(path: path, problem: "could not be created") }
        handle = h
        buffer.reserveCapacity(capacity)
    }

    func write(_ bytes: [UInt8]) throws(MediaError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { try flush() }
    }

    func write<T>(contentsOf values: [T]) throws(MediaError) {
        values.withUnsafeBytes { buffer.append(contentsOf: $0) }
        if buffer.count >= capacity { try flush() }
    }

    func write(_ text: String) throws(MediaError) { try write(Array(text.utf8)) }

    func flush() throws(MediaError) {
        guard !buffer.isEmpty else { return }
        do { try handle.write(contentsOf: buffer) } catch {
            throw MediaError(path: path, problem: "could not be written (\(error.localizedDescription))")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes the buffer and the file to the disk: extract renames the folder holding this
    /// file into place next, and a rename must not reach the disk before the data.
    func close() throws(MediaError) {
        try flush()
        do { try handle.synchronize() } catch {
            throw MediaError(path: path, problem: "could not be flushed (\(error.localizedDescription))")
        }
        try? handle.close()
    }

    /// Appends the whole of `other` in 1 MB chunks (memory stays bounded).
    func append(fileAt other: String) throws(MediaError) {
        try flush()
        guard let input = FileHandle(forReadingAtPath: other) else {
            throw MediaError(path: other, problem: "could not be read back")
        }
        defer { try? input.close() }
        while true {
            let chunk = input.readData(ofLength: capacity)
            if chunk.isEmpty { break }
            do { try handle.write(contentsOf: chunk) } catch {
                throw MediaError(path: path, problem: "could not be written (\(error.localizedDescription))")
            }
        }
    }
}

/// Writes `bytes` to `path` through `Common.AtomicFile`: a crash never leaves a half-written file.
func writeAtomically(_ bytes: [UInt8], to path: String) throws(MediaError) {
    do { try AtomicFile.write(Data(bytes), to: path) } catch {
        throw MediaError(
            path: path, problem: "could not be written (\((error as? FileWriteError)?.reason ?? "\(error)"))")
    }
}
