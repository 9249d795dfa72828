import Common
import ArgumentParser
import Foundation
import MediaIO
import VideoData

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Container, codec, GOP structure, frame types and motion-vector statistics of videos.",
        discussion: """
            Decodes every frame once, single-threaded, so the vector statistics are exact.

            Example: decouple probe assets/videos/bigbuckbunny_720p.mp4 --json
            """
    )

    @Argument(help: "Video files (anything libavformat reads).")
    var videos: [String]

    @Flag(help: "Print JSON (one object per video, or an array for several).")
    var json = false

    func run() throws {
        let reports = runConcurrently(count: videos.count, jobs: ProcessInfo.processInfo.activeProcessorCount) { [videos] i in
            Result { () throws(MediaError) -> ProbeReport in try ProbeReport(path: videos[i]) }
        }
        var failed = false
        var good: [ProbeReport] = []
        for r in reports {
            switch r {
            case .failure(let e):
                Console.error(e.description)
                failed = true
            case .success(let report):
                if let problem = report.motionProblem {
                    Console.error(MediaError(path: report.info.path, problem: problem).description)
                    failed = true
                    continue
                }
                if json { for w in report.warnings { Console.note("warning: '\(report.info.path)': \(w).") } }
                good.append(report)
            }
        }
        if json {
            if videos.count == 1, let only = good.first { print(Console.json(only)) } else if !good.isEmpty { print(Console.json(good)) }
        } else {
            print(good.map(Self.text).joined(separator: "\n"), terminator: good.isEmpty ? "" : "\n")
        }
        if failed { throw ExitCode(1) }
    }

    static func text(_ r: ProbeReport) -> String {
        let i = r.info, m = r.motion
        func pct(_ x: Double) -> String { String(format: "%.0f%%", x * 100) }
        func f(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }
        let declared = i.declaredFrameCount > 0 ? " (container says \(i.declaredFrameCount))" : " (container does not say)"
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
