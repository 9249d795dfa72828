import Common
import Dispatch
import Foundation

/// Ctrl-C and SIGTERM as a flag that long work polls: the first signal asks the work to stop
/// at the next safe point (between clips; a store append is atomic either way), a second one
/// exits at once with 130. Schedulers send SIGTERM before they kill a job, so a preempted job
/// stops cleanly too.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    private var sources: [DispatchSourceSignal] = []

    var isSet: Bool { lock.withLock { set } }

    /// Routes SIGINT and SIGTERM to the flag for the life of the process.
    func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                let again = lock.withLock {
                    defer { set = true }
                    return set
                }
                if again { exit(130) }
                Console.endStatus()
                Console.note("decouple: stopping after the current clip (again to quit now)")
            }
            source.resume()
            sources.append(source)
        }
    }
}
