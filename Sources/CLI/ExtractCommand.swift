import ArgumentParser
import Common
import Foundation
import MediaIO
import VideoData

extension ExtractOptions.Keyframes: ExpressibleByArgument {}
extension ExtractOptions.Fields: ExpressibleByArgument {}
extension ReferenceLists: ExpressibleByArgument {}
extension FrameRange: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

struct ExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Write keyframes (PNG) and motion vectors (.npy fields, extract_mvs.c CSV, frames.jsonl).",
        discussion: """
            One video writes into DIR; several write into DIR/<name>/ each. Every output \
            directory is assembled under a temporary name and renamed into place when complete. \
            Videos are decoded single-threaded (exact B-frame vectors) and run side by side; one \
            video is split into segments that start at key frames. See DIR/video.json for the \
            layout of each file.

            Example: decouple extract clip.mp4 -o out --frames 0:100 --cell 4
            """
    )

    @Argument(help: "Video files.")
    var videos: [String]

    @Option(name: .shortAndLong, help: "Output directory.")
    var output: String

    @Option(help: "Display-order frame range A:B (B exclusive), A: or :B.")
    var frames = FrameRange()

    @Option(help: "Which keyframes to save as PNG: intra (every I-frame), key (IDR only) or none.")
    var keyframes = ExtractOptions.Keyframes.intra

    @Option(help: "Dense motion fields: cmd (float32, ±10 px -> [-1,1]), qpel (int16 quarter pixels) or none.")
    var fields = ExtractOptions.Fields.cmd

    @Option(help: "Cell size of the dense fields in pixels: 1, 2, 4 or 8.")
    var cell = 4

    @Option(help: "Reference lists in the dense fields: both, list0 or list1 (list 1 negated to forward motion).")
    var lists = ReferenceLists.both

    @Flag(help: "Do not write mvs.csv.")
    var noCSV = false

    @Option(help: "Decoders to run side by side (default: every core).")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Replace existing output directories.")
    var force = false

    func validate() throws {
        guard MotionField.allowedCellSizes.contains(cell) else {
            throw ValidationError("--cell must be 1, 2, 4 or 8 (got \(cell)).")
        }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1.") }
    }

    func run() throws {
        var options = ExtractOptions()
        options.frames = frames
        options.keyframes = keyframes
        options.fields = fields
        options.cellSize = cell
        options.lists = lists
        options.csv = !noCSV
        options.jobs = jobs
        let targets = Extraction.outputDirectories(videos: videos, output: output)
        for t in targets where FileManager.default.fileExists(atPath: t.output) && !force {
            Console.error("'\(t.output)' already exists; pass --force to replace it.")
            throw ExitCode(1)
        }
        if videos.count > 1 {
            try? FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        }
        let progress = ProgressCounter()
        // Packet counts for the progress bar: cheap (no decoding), and only for a terminal.
        let total = Console.stderrIsTTY ? Extraction.frameCount(targets.map(\.path), range: frames) : 0
        let start = Date()
        let done = AtomicFlag()
        let ticker = Thread {
            while !done.isSet {
                Console.status(
                    progressLine(
                        label: "extract", done: progress.current, total: total,
                        elapsed: Date().timeIntervalSince(start), unit: "frames"))
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        if Console.stderrIsTTY && total > 0 { ticker.start() }
        let results = Extraction.run(videos: targets, options: options, progress: progress)
        done.set()
        Console.endStatus()
        var failed = 0
        for r in results {
            switch r {
            case .success(let s):
                print(
                    "\(s.path) -> \(s.output): \(s.frames) frames from \(s.firstFrame), \(s.keyframes) keyframes, \(s.vectors) vectors, \(s.segments) segment\(s.segments == 1 ? "" : "s"), \(String(format: "%.2f", s.seconds)) s"
                )
            case .failure(let e):
                Console.error(e.description)
                failed += 1
            }
        }
        if failed > 0 {
            if results.count > 1 { Console.error("\(failed) of \(results.count) videos failed.") }
            throw ExitCode(1)
        }
    }
}
