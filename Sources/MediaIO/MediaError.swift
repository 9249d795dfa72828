import CFFmpeg
import Common

/// A problem with one input file, as one sentence that names the file.
public struct MediaError: SentenceError, Equatable {
    public let path: String
    /// What is wrong, phrased to follow the quoted file name ("is empty (0 bytes)").
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "'\(path)' \(problem)" + (problem.hasSuffix(".") ? "" : ".") }
}

/// FFmpeg's message for an error code (`av_err2str` is a macro Swift cannot import).
func ffmpegMessage(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    if av_strerror(code, &buffer, buffer.count) < 0 { return "FFmpeg error \(code)" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Throws a `MediaError` when an FFmpeg call returns a negative code.
@discardableResult
func check(_ code: Int32, path: String, _ what: @autoclosure () -> String) throws(MediaError) -> Int32 {
    if code < 0 { throw MediaError(path: path, problem: "\(what()) (\(ffmpegMessage(code)))") }
    return code
}

enum AVCode {
    static let eagain = cff_averror_eagain()
    static let eof = cff_averror_eof()
}
