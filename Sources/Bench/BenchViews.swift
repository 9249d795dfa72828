import ArgumentParser
import Common
import Embed
import Foundation
import MediaIO
import Models
import SafeTensors
import VideoData

/// `decouple bench views`: clips per second of each view on the same videos in the same run,
/// decoding included: scene and motion (the compressed stream through CMD's small networks),
/// the shipped compact video view, and the full R(2+1)D-26 video view as the peer.
struct BenchViews: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "views",
        abstract: "Clips per second of the scene, motion and video views on the same videos, decoding included.",
        discussion: """
            Each view embeds every video (ModelScope's --clips-per-video clips) from opening the \
            file to the vectors: the scene view decodes the clips' keyframes (I-frames only) and \
            runs the I-frame network, the motion view decodes the motion vectors of the frames \
            the clips span and runs the motion-vector network (both on as many videos at once \
            as cores, as embed runs them), the video views decode and convert the RGB frames and \
            run a backbone. The views take turns within each run, so \
            all see the same load; each first runs once untimed; figures are medians of --runs. \
            The compact video view uses the weights' chosen variant; the full R(2+1)D-26 runs \
            with random weights (speed does not depend on them). Build in release.
            """
    )

    @Argument(help: "Videos (default: the bundled samples in assets/videos).")
    var videos: [String] = []

    @Option(help: "Weights with their views file (default: the shipped weights).")
    var weights: String?

    @Option(help: "Overrides of the weights' configuration (default: the shipped weights').")
    var config: String?

    @Option(name: .customLong("clips-per-video"), help: "Clips per video (ModelScope rule).")
    var clipsPerVideo = 10

    @Option(help: "Runs per figure (the median is reported).")
    var runs = 3

    @Flag(help: "Skip the full R(2+1)D-26 (the slowest by far).")
    var noFull = false

    @Flag(help: "Print JSON.")
    var json = false

    struct Row: Codable {
        var view: String
        var seconds: Double
        var clips: Int
        var clipsPerSecond: Double
        /// Frames the view's decoder returned, and how many were I-frames (scene and motion).
        var framesDecoded: Int?
        var iFramesDecoded: Int?
        var allSeconds: [Double]

        enum CodingKeys: String, CodingKey {
            case view, seconds, clips
            case clipsPerSecond = "clips_per_second"
            case framesDecoded = "frames_decoded"
            case iFramesDecoded = "i_frames_decoded"
            case allSeconds = "all_seconds"
        }
    }

    func validate() throws {
        guard clipsPerVideo >= 1, runs >= 1 else {
            throw ValidationError("--clips-per-video and --runs must be at least 1.")
        }
    }

    func run() throws {
        let paths = videos.isEmpty ? BenchAssets.defaultVideos() : videos
        let resolved: ModelWeights.Resolved
        do {
            resolved = try ModelWeights.resolve(
                model: "r2p1d-26", config: config ?? "", weights: weights, prefix: nil, randomSeed: nil)
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
        var views: [(name: String, embedder: ViewEmbedder)] = []
        do {
            for v in [ViewName.scene, .motion, .video(nil)] {
                let (e, _) = try ViewEmbedder.make(v, resolved: resolved)
                views.append((v == .video(nil) ? "video (\(resolved.config), \(e.view))" : "\(v)", e))
            }
            if !noFull {
                let full = ModelWeights.Resolved(
                    config: BackboneConfig(.r2plus1d), choice: .random(seed: 0), view: "pooled", rgb: .modelscope)
                views.append(("video (r2p1d-26 full size)", try ViewEmbedder.make(.video(nil), resolved: full).0))
            }
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
        if !json { print(Machine.description + "\n\(paths.count) videos, \(clipsPerVideo) clips each") }
        // Counting openers: the stream sources the scene and motion views open, to report what
        // they decoded.
        let opened = OpenedSources()
        let openers = VideoOpeners(
            clips: { try VideoClipSource(path: $0, rgb: $1) },
            stream: { path, rgb in
                let s = try MotionVideoSource(path: path, rgb: rgb)
                opened.add(s)
                return s
            })
        var times = Array(repeating: [Double](), count: views.count)
        var decoded = Array(repeating: (0, 0), count: views.count)
        var clips = 0
        for run in 0...runs {
            for (k, view) in views.enumerated() {
                opened.reset()
                let start = Date()
                var n = 0
                let embedder = view.embedder
                let perVideo = clipsPerVideo
                // As `embed` runs them: the stream views on several videos at once.
                try pipelined(
                    count: paths.count, inFlight: embedder.videosAtOnce,
                    work: { i in
                        Result {
                            try embedder.embed(paths[i], openers: openers) {
                                ClipSampler.modelScope(frameCount: $0, clips: perVideo)
                            }
                        }
                    }
                ) { _, e in
                    n += try e.get().vectors.count
                    return true
                }
                if run > 0 { times[k].append(Date().timeIntervalSince(start)) }
                decoded[k] = opened.counts
                clips = n
            }
        }
        let rows = views.enumerated().map { k, v in
            let s = Stats.median(times[k])
            let stream = v.embedder.videoEmbedder == nil
            return Row(
                view: v.name, seconds: s, clips: clips, clipsPerSecond: Double(clips) / s,
                framesDecoded: stream ? decoded[k].0 : nil, iFramesDecoded: stream ? decoded[k].1 : nil,
                allSeconds: times[k])
        }
        if json {
            print(Console.json(rows))
            return
        }
        let compact = rows[2].seconds
        print("view                                              seconds   clips/s  vs compact video  frames decoded")
        for r in rows {
            let frames = r.framesDecoded.map { "\($0) (\(r.iFramesDecoded ?? 0) I)" } ?? "all clip frames"
            print(
                r.view.padding(toLength: 48, withPad: " ", startingAt: 0)
                    + String(format: "  %7.2f  %8.1f  %15.2fx  ", r.seconds, r.clipsPerSecond, compact / r.seconds)
                    + frames)
        }
    }
}

/// The stream sources a benchmark run opened, for their decode counts.
final class OpenedSources: @unchecked Sendable {
    private let lock = NSLock()
    private var sources: [MotionVideoSource] = []
    func add(_ s: MotionVideoSource) { lock.withLock { sources.append(s) } }
    func reset() { lock.withLock { sources = [] } }
    var counts: (Int, Int) {
        lock.withLock { (sources.map(\.framesDecoded).reduce(0, +), sources.map(\.iFramesDecoded).reduce(0, +)) }
    }
}
