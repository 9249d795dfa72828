import Common
import Foundation

/// POSIX file operations the store needs beyond Foundation's: positioned writes into an existing
/// file, truncation, `fsync`, and `rename` over an existing file (atomic on one file system).
/// Every failure becomes a `StoreError` naming the path.
final class StoreFile {
    let path: String
    let fd: Int32

    /// Opens `path` for reading, or for reading and writing; `create` makes it when missing.
    init(_ path: String, writable: Bool, create: Bool = false) throws {
        self.path = path
        let flags = (writable ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0) | O_CLOEXEC
        fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw StoreError("'\(path)' could not be opened (\(String(cString: strerror(errno)))).") }
    }

    deinit { close(fd) }

    var size: Int {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : 0
    }

    /// Reads exactly `count` bytes at `offset` into `buffer`.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw StoreError("'\(path)' ends early: \(count) bytes expected at offset \(offset).") }
            done += n
        }
    }

    func read(count: Int, at offset: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: count, at: offset) }
        return bytes
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw StoreError("'\(path)' could not be written (\(String(cString: strerror(errno)))).")
            }
            done += n
        }
    }

    func write(_ bytes: [UInt8], at offset: Int) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    func truncate(to length: Int) throws {
        guard ftruncate(fd, off_t(length)) == 0 else {
            throw StoreError("'\(path)' could not be truncated (\(String(cString: strerror(errno)))).")
        }
    }

    /// Flushes to the disk, so a rename that follows cannot be seen before the data.
    func sync() throws {
        guard fsync(fd) == 0 else {
            throw StoreError("'\(path)' could not be flushed (\(String(cString: strerror(errno)))).")
        }
    }
}

enum StoreFiles {
    /// Replaces `path` with `data` through `Common.AtomicFile`: readers see the old file or the
    /// new one, never a part.
    static func replaceAtomically(_ path: String, with data: Data) throws {
        do { try AtomicFile.write(data, to: path) } catch let error as FileWriteError {
            throw StoreError("'\(path)' could not be replaced (\(error.reason)).")
        }
    }

    /// Renames the directory `temporary` to `target`. An existing `target` is an error unless
    /// `replace`, when it is moved aside first (rename cannot replace a non-empty directory)
    /// and removed after.
    static func moveIntoPlace(_ temporary: String, _ target: String, replace: Bool) throws {
        let fm = FileManager.default
        do {
            if fm.fileExists(atPath: target) {
                guard replace else {
                    throw StoreError("'\(target)' already exists (and replacing it was not asked for).")
                }
                let url = URL(fileURLWithPath: target).standardizedFileURL
                let old = url.deletingLastPathComponent().appendingPathComponent(
                    ".\(url.lastPathComponent).\(getpid()).replaced"
                ).path
                try? fm.removeItem(atPath: old)
                try fm.moveItem(atPath: target, toPath: old)
                try fm.moveItem(atPath: temporary, toPath: target)
                try? fm.removeItem(atPath: old)
            } else {
                try fm.moveItem(atPath: temporary, toPath: target)
            }
        } catch let error as StoreError {
            try? fm.removeItem(atPath: temporary)
            throw error
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw StoreError("'\(target)' could not be written (\((error as NSError).localizedDescription)).")
        }
        do { try AtomicFile.syncDirectory(of: target) } catch let error as FileWriteError {
            throw StoreError("'\(target)' could not be flushed (\(error.reason)).")
        }
    }

    /// An exclusive lock on a directory for the life of the returned descriptor, or nil when
    /// another process holds it.
    static func lockDirectory(_ path: String) throws -> Int32? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError("'\(path)' could not be opened (\(String(cString: strerror(errno)))).") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return nil
        }
        return fd
    }
}

/// The `.npy` header of the store's matrix: version 1.0, `<f4`, C order, shape `(rows, dimension)`,
/// padded with spaces to exactly `length` bytes (a multiple of 64). The store keeps the length
/// fixed (128 bytes holds any row count), so appending rewrites the header in place without
/// moving the data.
enum MatrixHeader {
    static let length = 128

    /// The header bytes, or nil when the dictionary does not fit in `length`.
    static func bytes(rows: Int, dimension: Int, length: Int = MatrixHeader.length) -> [UInt8]? {
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(dimension)), }"
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let textLength = length - magic.count - 2
        guard dict.utf8.count + 1 <= textLength, textLength <= 0xFFFF else { return nil }
        let text = dict + String(repeating: " ", count: textLength - dict.utf8.count - 1) + "\n"
        return magic + [UInt8(textLength & 0xFF), UInt8(textLength >> 8)] + Array(text.utf8)
    }
}
