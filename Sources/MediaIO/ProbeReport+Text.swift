import Common
import Foundation

extension ProbeReport {
    /// The report as `decouple probe` prints it, one aligned line per fact.
    public var text: String {
        let r = self
        let i = r.info
        let m = r.motion
        func pct(_ x: Double) -> String { String(format: "%.0f%%", x * 100) }
        func f(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }
        let declared =
            i.declaredFrameCount > 0 ? " (container says \(i.declaredFrameCount))" : " (container does not say)"
        let blocks = ["16x16", "16x8", "8x16", "8x8"].filter { m.blockSizes[$0] != nil }
            .map { "\($0) \(pct(m.blockSizes[$0]!))" }
        let others = m.blockSizes.keys.filter { !["16x16", "16x8", "8x16", "8x8"].contains($0) }.sorted()
            .map { "\($0) \(pct(m.blockSizes[$0]!))" }
        var lines = [
            "file        \(i.path) (\(humanBytes(i.fileSize)))",
            "container   \(i.container) (\(i.containerLongName))",
            "video       \(i.codec)\(i.profile.map { " (\($0))" } ?? ""), \(i.width)x\(i.height), \(i.pixelFormat), \(f(i.fps, 3)) fps, \(f(i.duration, 2)) s",
            "frames      \(m.frames) decoded, \(i.frameCount) packets\(declared)",
            "types       I \(m.iFrames)  P \(m.pFrames)  B \(m.bFrames)\(m.otherFrames > 0 ? "  other \(m.otherFrames)" : "")   key (IDR) \(m.keyFrames)",
            "GOP         \(m.gops) GOPs, length min \(m.gopMin)  mean \(f(m.gopMean))  max \(m.gopMax) (I-frame to I-frame)",
            "vectors     \(m.vectors) (list 0: \(m.list0), list 1: \(m.list1)), per P \(f(m.meanPerP, 0)) (\(m.minPerP)-\(m.maxPerP)), per B \(f(m.meanPerB, 0))",
            "blocks      \((blocks + others).joined(separator: "  "))",
            "length      mean \(f(m.meanLength, 2)) px, max \(f(m.maxLength, 1)) px; zero \(pct(m.zeroShare)), sub-pel \(pct(m.subPelShare)); scale 1/\(m.motionScales.map(String.init).joined(separator: ","))",
            "coverage    P \(pct(m.coverageP))   B list 0 \(pct(m.coverageBList0)), list 1 \(pct(m.coverageBList1))   intra share of P/B area \(pct(m.intraShare))",
        ]
        for w in r.warnings { lines.append("warning     " + w) }
        return lines.joined(separator: "\n")
    }
}
