/// A half-open range of display-order frame indices, as given on the command line (`A:B`).
public struct FrameRange: Equatable, Sendable, CustomStringConvertible {
    public var start: Int
    /// Exclusive end; nil means "to the end of the video".
    public var end: Int?

    public init(start: Int = 0, end: Int? = nil) {
        self.start = start
        self.end = end
    }

    /// Parses `A:B`, `A:` or `:B` (Python slice style, B exclusive) or a single frame `A`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 1 {
            guard let a = Int(parts[0]), a >= 0 else { return nil }
            self.init(start: a, end: a + 1)
            return
        }
        let a = parts[0].isEmpty ? 0 : Int(parts[0])
        let b = parts[1].isEmpty ? nil : Int(parts[1])
        guard let a, a >= 0, parts[1].isEmpty || (b != nil && b! > a) else { return nil }
        self.init(start: a, end: b)
    }

    public func contains(_ index: Int) -> Bool { index >= start && (end.map { index < $0 } ?? true) }

    /// Clamped to a video of `count` frames.
    public func clamped(to count: Int) -> Range<Int> {
        let lo = min(start, count)
        return lo..<max(lo, min(end ?? count, count))
    }

    public var description: String { "\(start):\(end.map(String.init) ?? "")" }
}

/// Splits a frame range into segments that start at key frames, so independent decoders can
/// run them side by side and produce exactly what one decoder would (DESIGN: parallelism that
/// keeps vectors exact). Each segment is decoded from its key frame, which needs no earlier
/// picture, and frames are assigned to the segment whose range holds their index.
public enum SegmentPlan {
    /// - Parameters:
    ///   - range: frames wanted.
    ///   - keyFrames: display indices of key frames (random-access points), ascending.
    ///   - parts: how many segments at most.
    /// - Returns: consecutive ranges covering `range`, each after the first starting at a key
    ///   frame, with sizes as even as the key frames allow.
    public static func split(_ range: Range<Int>, keyFrames: [Int], parts: Int) -> [Range<Int>] {
        guard parts > 1, range.count > 1 else { return range.isEmpty ? [] : [range] }
        let cuts = keyFrames.filter { $0 > range.lowerBound && $0 < range.upperBound }
        guard !cuts.isEmpty else { return [range] }
        var bounds = [range.lowerBound]
        for k in 1..<parts {
            let ideal = range.lowerBound + range.count * k / parts
            // The key frame closest to the ideal cut that keeps cuts increasing.
            let best = cuts.filter { $0 > bounds.last! }.min { abs($0 - ideal) < abs($1 - ideal) }
            if let best { bounds.append(best) }
        }
        bounds.append(range.upperBound)
        return zip(bounds, bounds.dropFirst()).map { $0..<$1 }
    }
}
