/// `--shard i/n`: which inputs one job of a job array embeds. Every input goes to exactly one
/// of the n shards, decided by a hash of its key alone (the path below the folder given on
/// the command line, or the path as given for a file), so the split does not depend on the
/// order of the inputs, on the machine, or on which other files exist.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 0-based: Slurm `--array=0-(n-1)` gives `$SLURM_ARRAY_TASK_ID`, a Kubernetes indexed Job
    /// gives `$JOB_COMPLETION_INDEX`.
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count, "shard \(index)/\(count)")
        self.index = index
        self.count = count
    }

    /// Parses `i/n` with 0 <= i < n; nil otherwise.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else { return nil }
        self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// True when the input with `key` belongs to this shard.
    public func contains(_ key: String) -> Bool { Self.shard(of: key, count: count) == index }

    /// The shard of `key` among `count`: FNV-1a (64-bit) of its UTF-8 bytes, modulo `count`.
    /// (Swift's `hashValue` is seeded per process, so it cannot be used across machines.)
    public static func shard(of key: String, count: Int) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return Int(hash % UInt64(count))
    }
}
