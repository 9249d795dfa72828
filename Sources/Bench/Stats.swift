/// The summary statistics every benchmark reports, defined once.
///
/// `median` is the middle value of the sorted sample, and for an even count the mean of the two
/// middle values (so two runs give their mean, not the slower or the faster of them). NaN for an
/// empty sample. Before this type, `bench model` used this definition and the other benchmarks
/// took the upper of the two middle values; with their default run counts (odd: 3, 5, 21) the
/// two agree, so only an even `--runs` (or `bench model`'s 10-clip batch, which it already
/// averaged) sees the difference.
public enum Stats {
    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The value at rank `⌊count · percent / 100⌋` of the sorted sample (clamped to the last):
    /// `percentile(xs, 95)` is the p95 of `bench explore`. NaN for an empty sample.
    public static func percentile(_ xs: [Double], _ percent: Int) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        return s[min(s.count - 1, s.count * percent / 100)]
    }

    /// The median of `runs` (at least 1) calls of `body`, each returning seconds; runs that throw
    /// are left out (NaN when all do).
    public static func medianOfRuns(_ runs: Int, _ body: () throws -> Double) -> Double {
        var xs: [Double] = []
        for _ in 0..<max(1, runs) { if let t = try? body() { xs.append(t) } }
        return median(xs)
    }
}
