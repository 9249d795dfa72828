import Foundation

/// Events from worker threads to the UI thread, with a way to wait for them.
final class Inbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var events: [Event] = []

    func post(_ e: Event) {
        condition.lock()
        events.append(e)
        condition.signal()
        condition.unlock()
    }

    /// Everything posted so far (possibly nothing).
    func drain() -> [Event] {
        condition.lock()
        defer { condition.unlock() }
        let out = events
        events.removeAll()
        return out
    }

    /// Waits up to `seconds` for at least one event.
    func wait(seconds: Double) {
        condition.lock()
        if events.isEmpty { _ = condition.wait(until: Date().addingTimeInterval(seconds)) }
        condition.unlock()
    }
}
