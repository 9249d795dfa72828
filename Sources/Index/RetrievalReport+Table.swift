import Foundation

extension RetrievalReport {
    /// The report as `decouple eval retrieval` prints it.
    public func table(store: EmbeddingStore, labels: String) -> String {
        let r = self
        func pct(_ v: Double) -> String { String(format: "%5.1f %%", v * 100) }
        var lines = [
            "store      \(store.directory) (\(store.manifest.config), weights \(store.manifest.weights.label), \(store.count) rows)",
            "labels     \(labels)",
            "queries    \(r.queries) videos of split \"\(r.querySplit)\", \(r.classes) classes",
            "gallery    \(r.gallery) videos of split \"\(r.gallerySplit)\"",
        ]
        for recall in r.recalls {
            lines.append(
                "R@\(recall.k)".padding(toLength: 11, withPad: " ", startingAt: 0) + pct(recall.recall)
                    + (recall.k > r.gallery ? "  (k beyond the gallery: all of it)" : ""))
        }
        lines.append(
            "NN acc.    \(pct(r.nearestNeighbourAccuracy))  (class-balanced \(pct(r.classBalancedAccuracy).trimmingCharacters(in: .whitespaces)))"
        )
        if r.unmatchedLabels > 0 || r.unlabelledVideos > 0 {
            lines.append(
                "skipped    \(r.unmatchedLabels) label line\(r.unmatchedLabels == 1 ? "" : "s") with no video in the store, \(r.unlabelledVideos) video\(r.unlabelledVideos == 1 ? "" : "s") without a label"
            )
        }
        return lines.joined(separator: "\n")
    }
}
