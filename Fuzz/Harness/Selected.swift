import Foundation
import FuzzTargets

/// The harness DECOUPLE_FUZZ_TARGET names (one of FuzzTargets.names).
enum Harness {
    static let selected: @Sendable (Data) -> Void = {
        let name = ProcessInfo.processInfo.environment["DECOUPLE_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTargets.target(name) else {
            FileHandle.standardError.write(
                Data("DECOUPLE_FUZZ_TARGET must name a harness: \(FuzzTargets.names.joined(separator: ", ")).\n".utf8))
            exit(2)
        }
        return target
    }()
}
