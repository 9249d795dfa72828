import ArgumentParser
import Common
import Foundation
import MediaIO
import VideoData

/// `decouple bench extract`: motion-vector extraction speed next to the ffmpeg CLI's own
/// decode of the same file, in the same run.
struct BenchExtract: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract:
            "Frames/s of motion-vector extraction, keyframes-only decoding and two decoders at once, next to ffmpeg.",
        discussion: """
            For each clip: our reader collecting motion vectors (with and without RGB keyframes), \
            the keyframes-only path (I-frames decoded, fps counts every frame covered), two \
            videos decoded at once on two threads, and `ffmpeg -threads 1 -flags2 +export_mvs \
            -i FILE -f null -`. Each figure is the median of --runs runs; each run decodes the \
            clip --repeat times. ffmpeg's figure is its own -benchmark rtime (decoding only, \
            no file opening); ours includes opening the file and the packet-index pass. \
            Build in release: swift build -c release.
            """
    )

    @Argument(help: "Clips to measure (default: the bundled 320x240 clip and the 720p sample).")
    var clips: [String] = []

    @Option(help: "Runs per figure (the median is reported).")
    var runs = 5

    @Option(help: "Decodes of the clip per run (longer runs, less noise).")
    var repeat_ = 4

    @Flag(help: "Print one JSON object per clip.")
    var json = false

    struct Row: Codable {
        var clip: String
        var width: Int
        var height: Int
        var frames: Int
        var hasBFrames: Bool
        var mvsFPS: Double
        var mvsKeyRGBFPS: Double
        var keyframesOnlyFPS: Double
        var twoVideosFPS: Double
        var ffmpegFPS: Double?
        var ratioVsFFmpeg: Double?
        var keyframesSpeedup: Double
        var twoVideosScaling: Double

        enum CodingKeys: String, CodingKey {
            case clip, width, height, frames
            case hasBFrames = "has_b_frames"
            case mvsFPS = "mvs_fps"
            case mvsKeyRGBFPS = "mvs_key_rgb_fps"
            case keyframesOnlyFPS = "keyframes_only_fps"
            case twoVideosFPS = "two_videos_fps"
            case ffmpegFPS = "ffmpeg_null_fps"
            case ratioVsFFmpeg = "mvs_vs_ffmpeg"
            case keyframesSpeedup = "keyframes_speedup"
            case twoVideosScaling = "two_videos_scaling"
        }
    }

    func run() throws {
        let paths = clips.isEmpty ? BenchAssets.defaultClips() : clips
        if !json { print(Machine.description) }
        for path in paths {
            let row = try measure(path)
            if json { print(Console.json(row, pretty: false)) } else { print(table(row)) }
        }
    }

    func measure(_ path: String) throws -> Row {
        let info: VideoInfo
        do { info = try VideoReader(path: path, options: ReaderOptions(motionVectors: false)).info } catch {
            Console.error(error.description)
            throw ExitCode(1)
        }
        let frames = info.frameCount * repeat_
        func fps(_ seconds: Double, _ count: Int = frames) -> Double { Double(count) / seconds }
        let mvs = Stats.medianOfRuns(runs) { try timeDecode(path, ReaderOptions(images: .none)) }
        let mvsRGB = Stats.medianOfRuns(runs) { try timeDecode(path, ReaderOptions(images: .intra)) }
        let keys = Stats.medianOfRuns(runs) {
            try timeDecode(path, ReaderOptions(frames: .intra, motionVectors: false, images: .intra))
        }
        let two = Stats.medianOfRuns(runs) {
            let start = Date()
            let ok = runConcurrently(count: 2, jobs: 2) { _ in
                (try? self.timeDecode(path, ReaderOptions(images: .intra))) != nil
            }
            guard ok.allSatisfy({ $0 }) else { throw MediaError(path: path, problem: "failed while decoding") }
            return Date().timeIntervalSince(start)
        }
        let ff = ffmpegRTime(path).map { rtime in fps(rtime, info.frameCount) }
        return Row(
            clip: path, width: info.width, height: info.height, frames: info.frameCount, hasBFrames: info.hasReordering,
            mvsFPS: fps(mvs), mvsKeyRGBFPS: fps(mvsRGB), keyframesOnlyFPS: fps(keys),
            twoVideosFPS: fps(two, 2 * frames),
            ffmpegFPS: ff, ratioVsFFmpeg: ff.map { fps(mvs) / $0 }, keyframesSpeedup: fps(keys) / fps(mvsRGB),
            twoVideosScaling: fps(two, 2 * frames) / fps(mvsRGB))
    }

    /// Seconds to open and decode the clip `repeat_` times with `options`.
    func timeDecode(_ path: String, _ options: ReaderOptions) throws -> Double {
        let start = Date()
        for _ in 0..<repeat_ {
            let reader = try VideoReader(path: path, options: options)
            while try reader.next() != nil {}
        }
        return Date().timeIntervalSince(start)
    }

    /// Median of ffmpeg's own -benchmark rtime for one decode of the clip; nil without ffmpeg.
    func ffmpegRTime(_ path: String) -> Double? {
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [
                "ffmpeg", "-hide_banner", "-nostats", "-benchmark", "-threads", "1", "-flags2", "+export_mvs", "-i",
                path, "-an", "-f", "null", "-",
            ]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            guard (try? p.run()) != nil else { return nil }
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            guard p.terminationStatus == 0, let r = text.range(of: "rtime=") else { return nil }
            let num = text[r.upperBound...].prefix { $0.isNumber || $0 == "." }
            if let t = Double(num) { times.append(t) }
        }
        return times.isEmpty ? nil : Stats.median(times)
    }

    func table(_ r: Row) -> String {
        func f(_ x: Double) -> String { String(format: "%8.0f", x) }
        func x(_ v: Double) -> String { String(format: "%.2fx", v) }
        var lines = [
            "\(r.clip): \(r.width)x\(r.height), \(r.frames) frames\(r.hasBFrames ? ", B-frames" : ", no B-frames")",
            "  motion vectors, 1 thread            \(f(r.mvsFPS)) frames/s",
            "  vectors + RGB keyframes, 1 thread   \(f(r.mvsKeyRGBFPS)) frames/s",
            "  keyframes only (I-frames), 1 thread \(f(r.keyframesOnlyFPS)) frames/s covered  (\(x(r.keyframesSpeedup)) full decode)",
            "  two videos at once, 2 threads       \(f(r.twoVideosFPS)) frames/s total    (\(x(r.twoVideosScaling)) one)",
        ]
        if let ff = r.ffmpegFPS, let ratio = r.ratioVsFFmpeg {
            lines.append("  ffmpeg -threads 1 +export_mvs null \(f(ff)) frames/s           (ours \(x(ratio)) ffmpeg)")
        } else {
            lines.append("  ffmpeg not found: no peer figure")
        }
        return lines.joined(separator: "\n")
    }
}
