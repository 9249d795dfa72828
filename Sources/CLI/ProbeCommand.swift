import ArgumentParser
import Common
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
        let reports = runConcurrently(count: videos.count, jobs: ProcessInfo.processInfo.activeProcessorCount) {
            [videos] i in
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
            if videos.count == 1, let only = good.first {
                print(Console.json(only))
            } else if !good.isEmpty {
                print(Console.json(good))
            }
        } else {
            print(good.map(\.text).joined(separator: "\n"), terminator: good.isEmpty ? "" : "\n")
        }
        if failed { throw ExitCode(1) }
    }
}
