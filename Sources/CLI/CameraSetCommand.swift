import ArgumentParser
import Common
import Foundation
import MediaIO
import Synth
import VideoData

extension CameraMove: ExpressibleByArgument {}

struct CameraSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camera-set",
        abstract: "Generate the camera-move scene-bias set: camera moves applied to real footage, as H.264.",
        discussion: """
            Seven classes (still, pan-left, pan-right, tilt-up, tilt-down, zoom-in, zoom-out): a crop \
            window moving over the frames of real videos, which keep their own motion. The videos are \
            cut into scenes (segments of --frames frames); each class gets its own home scenes. \
            in-context/: each class over its home scenes; out-of-context/: over other classes' home \
            scenes. labels.csv (path,class,split) is what eval scene-bias and eval retrieval read; \
            camera.json records every scene and camera path. Without videos it uses the bundled \
            assets/videos and assets/camera. Deterministic for a seed (libx264, one thread).

            Example: decouple camera-set -o camera --per-class 10 --seed 7
            """
    )

    @Argument(help: "Source videos or folders (default: the bundled assets/videos and assets/camera).")
    var videos: [String] = []

    @Option(name: .shortAndLong, help: "Output directory.")
    var output: String

    @Option(help: "Videos per class and split.")
    var perClass = 10

    @Option(parsing: .upToNextOption, help: "Camera moves (default: all seven).")
    var classes: [CameraMove] = CameraMove.allCases

    @Option(help: "Frames per video (and per scene).")
    var frames = 80

    @Option(help: "Frame size, WIDTHxHEIGHT (even).")
    var size = "160x120"

    @Option(help: "Seed.")
    var seed: UInt64 = 1

    @Option(help: "Scenes rendered side by side.")
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
        guard Set(classes).count == classes.count, classes.count >= 2 else {
            throw ValidationError("--classes needs at least two distinct camera moves.")
        }
    }

    func run() throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            Console.error("'\(output)' already exists; pass --force to replace it.")
            throw ExitCode(1)
        }
        let dims = size.split(separator: "x").compactMap { Int($0) }
        var options = CameraOptions()
        options.classes = classes
        options.perClass = perClass
        options.frames = frames
        options.width = dims[0]
        options.height = dims[1]
        options.seed = seed
        let paths = try sourcePaths()
        let sources: [CameraSource]
        let plan: CameraPlan
        do {
            sources = try paths.map { path in
                let info = try VideoReader(path: path, options: ReaderOptions(motionVectors: false)).info
                let (w, h) = CameraSource.decodeSize(width: info.width, height: info.height, outputHeight: dims[1])
                return CameraSource(
                    name: (path as NSString).lastPathComponent, width: w, height: h, frames: info.frameCount)
            }
            plan = try CameraPlan(options, sources: sources)
        } catch {
            Console.error("\(error)" + ("\(error)".hasSuffix(".") ? "" : "."))
            throw ExitCode(1)
        }
        let start = Date()
        let count = plan.videos.count
        let (width, height) = (options.width, options.height)
        do {
            try CameraSetWriter(plan: plan, jobs: jobs).write(
                to: output,
                openScene: { source, first in
                    try SourceSceneFrames(path: paths[source], source: sources[source], start: first)
                },
                open: { try VideoEncoder(path: $0, width: width, height: height) },
                progress: { done in
                    Console.status(
                        progressLine(
                            label: "camera-set", done: done, total: count, elapsed: Date().timeIntervalSince(start),
                            unit: "videos"))
                })
        } catch {
            Console.endStatus()
            Console.error("\(error)")
            throw ExitCode(1)
        }
        Console.endStatus()
        print(
            "\(output): \(count) videos (\(classes.count) classes x \(perClass) x 2 splits) over \(plan.scenes.count) scenes of \(paths.count) videos, \(width)x\(height), \(frames) frames, \(String(format: "%.1f", Date().timeIntervalSince(start))) s"
        )
    }

    /// The videos given, or the bundled samples and camera-set footage.
    func sourcePaths() throws -> [String] {
        if !videos.isEmpty { return try VideoInputs.paths(videos) }
        let folders = ["assets/videos", "assets/camera"].compactMap { Resources.find($0) }
        guard !folders.isEmpty else {
            Console.error(
                "no videos given and the bundled footage (assets/videos, assets/camera) was not found; pass video files or folders, or set \(Resources.homeVariable)."
            )
            throw ExitCode(1)
        }
        return try VideoInputs.paths(folders)
    }
}

/// A scene's frames from MediaIO: one reader per scene, positioned at the scene's first frame,
/// decoding at the size the plan was made for.
final class SourceSceneFrames: SceneFrames {
    let reader: VideoReader
    let path: String
    let start: Int
    var read = 0

    init(path: String, source: CameraSource, start: Int) throws {
        self.path = path
        self.start = start
        reader = try VideoReader(
            path: path,
            options: ReaderOptions(
                frames: .all, motionVectors: false, images: .all, imageWidth: source.width, imageHeight: source.height))
        if start > 0 { try reader.seek(toFrame: start) }
    }

    func next() throws -> RGBImage {
        guard let frame = try reader.next(), let image = frame.image else {
            throw MediaError(
                path: path, problem: "ends after frame \(start + read - 1), inside the segment that starts at \(start)")
        }
        read += 1
        return image
    }
}
