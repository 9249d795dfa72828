/// An error whose description is one complete sentence that names the file and says what is
/// wrong: shown to the user as it is.
public protocol SentenceError: Error, CustomStringConvertible {}

/// A file that cannot be used: one sentence naming it (`path: problem`).
public struct FileError: SentenceError, Sendable {
    public var path: String
    public var problem: String
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }
    public var description: String { "\(path): \(problem)" }
}

/// Why a file could not be written: one sentence naming it.
public struct FileWriteError: SentenceError, Sendable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "'\(path)' could not be written (\(reason))." }
}
