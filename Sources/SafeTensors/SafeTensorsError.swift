/// A safetensors file that cannot be used. `description` is one sentence naming the file.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file concerned.
    public var path: String
    /// What is wrong, as a clause ("is truncated: ...").
    public var problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
