import Common

/// A store that cannot be opened, read or written. `description` is one sentence that names
/// the file and says what is wrong.
public struct StoreError: SentenceError, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
