import ArgumentParser
import Common
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
        guard perClass >= 1, frames >= 2, jobs >= 1 else {
            throw ValidationError("--per-class, --frames and --jobs must be positive (frames at least 2).")
        }
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
        let start = Date()
        let count = videos.count
        let (width, height) = (options.width, options.height)
        do {
            try SynthWriter(options: options, photos: pictures, jobs: jobs).write(
                videos, to: output, open: { try VideoEncoder(path: $0, width: width, height: height) },
                progress: { done in
                    Console.status(
                        progressLine(
                            label: "synth", done: done, total: count, elapsed: Date().timeIntervalSince(start),
                            unit: "videos"))
                })
        } catch {
            Console.endStatus()
            Console.error("\(error)")
            throw ExitCode(1)
        }
        Console.endStatus()
        print(
            "\(output): \(videos.count) videos (\(options.classes.count) classes x \(perClass) x 2 splits), \(options.width)x\(options.height), \(frames) frames, \(String(format: "%.1f", Date().timeIntervalSince(start))) s"
        )
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

/// libx264 through MediaIO takes a synth video's frames.
extension VideoEncoder: FrameSink {}
