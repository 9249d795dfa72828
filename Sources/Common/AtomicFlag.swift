import Foundation

/// A flag one thread sets and others poll (a progress thread's "done", a cancellation).
public final class AtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    public init() {}
    public var isSet: Bool { lock.withLock { value } }
    public func set() { lock.withLock { value = true } }
}
