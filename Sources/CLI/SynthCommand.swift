import Common
import ArgumentParser
import Foundation
import MediaIO
import Synth
import VideoData

extension MotionClass: ExpressibleByArgument {}
extension PhotoRegion: ExpressibleByArgument {}

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate the scene-bias benchmark: motion classes acted over real photographs, as H.264.",
        discussion: """
            Nine motion classes (orbit, swing, bounce, drift, zoom-in, zoom-out, spin, zigzag, pan) \
            acted by actors cut from photos or drawn, with random size, texture, speed, phase and \
            start. in-context/: each class in front of its own photo; out-of-context/: in front of \
            other classes' photos. labels.csv (path,class,split) is what eval retrieval and eval \
            scene-bias read; synth.json records every video's parameters. --region train|test uses \
            the top or bottom half of every photo, so a training set and a test set share no pixels. \
            Deterministic for a seed (libx264, one thread).

            Example: decouple synth -o synth --per-class 10 --seed 7 --region test
            """
    )

    @Option(name: .shortAndLong, help: "Output directory.")
    var output: String

    @Option(help: "Videos per class and split.")
    var perClass = 10

    @Option(parsing: .upToNextOption, help: "Motion classes (default: all nine).")
    var classes: [MotionClass] = MotionClass.allCases

    @Option(help: "Frames per video.")
    var frames = 80

    @Option(help: "Frame size, WIDTHxHEIGHT (even).")
    var size = "160x120"

    @Option(help: "Seed.")
    var seed: UInt64 = 1

    @Option(help: "Photo region: train (top halves), test (bottom halves) or all.")
    var region = PhotoRegion.all

    @Option(help: "Directory of photos (default: the bundled assets/photos).")
    var photos: String?

    @Option(help: "Videos encoded side by side.")
    var jobs = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Replace an existing output directory.")
    var force = false

    func validate() throws {
        let dims = size.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 2, dims[0] % 2 == 0, dims[1] % 2 == 0, dims[0] >= 32, dims[1] >= 32 else {
            throw ValidationError("--size must be even and at least 32x32, like 160x120 (got \(size)).")
        }
        guard perClass >= 1, frames >= 2, jobs >= 1 else { throw ValidationError("--per-class, --frames and --jobs must be positive (frames at least 2).") }
        guard Set(classes).count == classes.count else { throw ValidationError("--classes lists a class twice.") }
    }

    func run() throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            Console.error("'\(output)' already exists; pass --force to replace it.")
            throw ExitCode(1)
        }
        let dims = size.split(separator: "x").compactMap { Int($0) }
        var options = SynthOptions()
        options.classes = classes
        options.perClass = perClass
        options.frames = frames
        options.width = dims[0]
        options.height = dims[1]
        options.seed = seed
        options.region = region
        let pictures = try loadPhotos()
        let videos: [SynthVideo]
        do { videos = try SynthPlan.videos(options, photos: pictures) } catch {
            Console.error("cannot plan the set: \(error).")
            throw ExitCode(1)
        }
        let work = output + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: work)
        for split in SynthSplit.allCases {
            try FileManager.default.createDirectory(atPath: work + "/" + split.rawValue, withIntermediateDirectories: true)
        }
        let done = ProgressCounter()
        let start = Date()
        let frozen = options
        let results = runConcurrently(count: videos.count, jobs: jobs) { i -> String? in
            let options = frozen
            let v = videos[i]
            do {
                let encoder = try VideoEncoder(path: work + "/" + v.relativePath, width: options.width, height: options.height)
                for f in 0..<options.frames { try encoder.append(v.scene.render(frame: f)) }
                try encoder.finish()
            } catch {
                return "\(error)"
            }
            done.add(1)
            Console.status(progressLine(label: "synth", done: done.current, total: videos.count, elapsed: Date().timeIntervalSince(start), unit: "videos"))
            return nil
        }
        Console.endStatus()
        if let failure = results.compactMap({ $0 }).first {
            try? FileManager.default.removeItem(atPath: work)
            Console.error(failure)
            throw ExitCode(1)
        }
        try AtomicFile.write(Data(SynthLabels.csv(videos).utf8), to: work + "/labels.csv")
        struct Doc: Encodable {
            var options: SynthOptions
            var classes: [String: String]
            var classPhotos: [String: String]
            var videos: [SynthRecord]
        }
        let own = SynthPlan.classPhotos(options, photos: pictures)
        let doc = Doc(
            options: options, classes: Dictionary(uniqueKeysWithValues: options.classes.map { ($0.rawValue, $0.summary) }),
            classPhotos: Dictionary(uniqueKeysWithValues: own.map { ($0.key.rawValue, pictures[$0.value].name) }),
            videos: videos.map(SynthRecord.init))
        try AtomicFile.write(Data(Console.json(doc).utf8), to: work + "/synth.json")
        if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }
        do { try AtomicFile.commit(work, to: output) } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
        print("\(output): \(videos.count) videos (\(options.classes.count) classes x \(perClass) x 2 splits), \(options.width)x\(options.height), \(frames) frames, \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }

    /// Every image in the photo directory, sorted by name.
    func loadPhotos() throws -> [Photo] {
        let dir = photos ?? Resources.find("assets/photos") ?? "assets/photos"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard !names.isEmpty else {
            Console.error("'\(dir)' holds no photos (.jpg or .png); pass --photos DIR.")
            throw ExitCode(1)
        }
        return try names.map { name in
            do { return Photo(name: name, image: try loadImage(dir + "/" + name)) } catch {
                Console.error("\(error)")
                throw ExitCode(1)
            }
        }
    }
}
