import Foundation

/// The one way the project writes a file it promises to keep: the bytes go to a temporary
/// name in the same directory, are flushed to the disk, the temporary is renamed over the
/// target and the directory is flushed. A reader, or a run after a crash at any point, sees
/// the old file whole or the new one whole, never a part; a crash before the rename can leave
/// a stray `.<name>.<pid>.tmp`, never a damaged target.
public enum AtomicFile {
    /// Writes `data` to `path` as described above.
    /// - Parameter beforeRename: runs when the temporary is complete and flushed and the target
    ///   still holds the old content (tests use it to stand for a crash at that moment).
    public static func write(_ data: Data, to path: String, beforeRename: () throws -> Void = {}) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
            .path
        do {
            try writeAndSync(data, to: temporary, naming: path)
            try beforeRename()
            try commit(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Moves a finished `temporary` file or folder (written by someone else, e.g. FFmpeg's
    /// muxer) over `path`: flushed, renamed, the directory flushed. `temporary` must be in
    /// `path`'s directory; on failure it is left for the caller to remove.
    public static func commit(_ temporary: String, to path: String) throws {
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileWriteError(path: path, reason: errnoText()) }
        let synced = fsync(fd) == 0
        let reason = errnoText()
        close(fd)
        guard synced else { throw FileWriteError(path: path, reason: reason) }
        CrashPoint.pass("synced")
        guard rename(temporary, path) == 0 else { throw FileWriteError(path: path, reason: errnoText()) }
        CrashPoint.pass("renamed")
        try syncDirectory(of: path)
    }

    /// Writes the whole of `data` to a new file at `temporary` and flushes it.
    private static func writeAndSync(_ data: Data, to temporary: String, naming path: String) throws {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileWriteError(path: path, reason: errnoText()) }
        defer { close(fd) }
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw FileWriteError(path: path, reason: errnoText()) }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw FileWriteError(path: path, reason: errnoText()) }
    }

    /// Flushes the directory holding `path`, so a rename (or a new entry) in it survives a
    /// power cut.
    public static func syncDirectory(of path: String) throws {
        let fd = open(parentDirectory(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileWriteError(path: path, reason: "its folder cannot be opened: " + errnoText()) }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw FileWriteError(path: path, reason: "its folder cannot be flushed: " + errnoText())
        }
    }

    /// `strerror(errno)` as a Swift string.
    public static func errnoText() -> String { String(cString: strerror(errno)) }
}
