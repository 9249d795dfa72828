import Foundation

/// Result of running an external program.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: String
    public var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs `executable` (a path, or a name looked up on PATH) and waits for it; `directory` sets
/// the working directory (default: the test runner's).
@discardableResult
public func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil
) throws -> ProcessOutput {
    let p = Process()
    if executable.contains("/") {
        p.executableURL = URL(fileURLWithPath: executable)
    } else {
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [executable]
    }
    p.arguments = (p.arguments ?? []) + arguments
    if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    // Read both pipes concurrently so a chatty child cannot block on a full pipe.
    let errData = LockedData()
    let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !errData.done { usleep(1000) }
    return ProcessOutput(
        status: p.terminationStatus, stdout: outData, stderr: String(decoding: errData.value, as: UTF8.self))
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var finished = false
    func set(_ d: Data) {
        lock.withLock {
            data = d
            finished = true
        }
    }
    var done: Bool { lock.withLock { finished } }
    var value: Data { lock.withLock { data } }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Runs a program and throws with its stderr when it fails.
@discardableResult
public func runChecked(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
    let out = try run(executable, arguments)
    guard out.status == 0 else {
        throw TestFailure(
            "\(executable) \(arguments.joined(separator: " ")) exited \(out.status): \(out.stderr.suffix(2000))")
    }
    return out
}
