import Common
import Foundation
import VideoData

/// What `decouple extract` writes for each video.
public struct ExtractOptions: Sendable {
    public enum Keyframes: String, Sendable, CaseIterable {
        /// Every I-frame, IDR or not (what CMD calls keyframes).
        case intra
        /// IDR / recovery-point frames only.
        case key
        case none
    }

    public enum Fields: String, Sendable, CaseIterable {
        /// float32 `[F, 2, rows, cols]`, clamped to ±10 px and divided by 10 (docs/method.md §3).
        case cmd
        /// int16 `[F, 2, rows, cols]` in quarter pixels, unclamped.
        case qpel
        case none
    }

    public var frames = FrameRange()
    public var keyframes = Keyframes.intra
    public var csv = true
    public var fields = Fields.cmd
    public var cellSize = 4
    public var lists = ReferenceLists.both
    /// Decoders run side by side (videos, or key-frame segments of one video).
    public var jobs = ProcessInfo.processInfo.activeProcessorCount

    public init() {}
}

/// The outcome of extracting one video.
public struct ExtractSummary: Sendable, Codable {
    public var path: String
    public var output: String
    public var frames: Int
    public var firstFrame: Int
    public var keyframes: Int
    public var vectors: Int
    public var segments: Int
    public var seconds: Double
}

/// Extracts keyframes and motion vectors from videos into output directories.
///
/// Layout of one output directory:
/// - `keyframes/frame_NNNNNN.png`: RGB keyframes at full size (NNNNNN = display index).
/// - `mvs.csv`: every vector in the columns of FFmpeg's `extract_mvs.c` (framenum 1-based).
/// - `motion.npy` + `motion_mask.npy`: dense fields `[F, 2, rows, cols]` (dx, dy: forward motion)
///   and `[F, rows, cols]` uint8 masks (bit 0 list 0, bit 1 list 1), one row per frame of the
///   range, I-frames included (zeros), cells of `cellSize` pixels.
/// - `frames.jsonl`: one line per frame: index, pts, time, type, key, packet size, vector counts,
///   coverage, intra share, mean and max vector length.
/// - `video.json`: the probe information and the options used.
///
/// Each video is decoded single-threaded (vectors stay exact); a single video is split into
/// segments that start at key frames and run side by side. Everything is written under a
/// temporary name and renamed into place at the end.
public enum Extraction {
    public static func run(
        videos: [(path: String, output: String)], options: ExtractOptions, progress: ProgressCounter? = nil
    ) -> [Result<ExtractSummary, MediaError>] {
        let start = Date()
        // Open each video once (main thread) for its index; failures are reported per video.
        var plans: [Result<Plan, MediaError>] = videos.map { v in
            Result { () throws(MediaError) -> Plan in try Plan(path: v.path, output: v.output, options: options) }
        }
        var tasks: [(video: Int, segment: Int, range: Range<Int>)] = []
        let parts = videos.count == 1 ? options.jobs : 1
        for (i, plan) in plans.enumerated() {
            guard case .success(var p) = plan else { continue }
            p.segments = SegmentPlan.split(p.range, keyFrames: p.index.keyFrameIndices, parts: parts)
            plans[i] = .success(p)
            for (s, r) in p.segments.enumerated() { tasks.append((i, s, r)) }
        }
        let frozenPlans = plans
        let frozenTasks = tasks
        let results = runConcurrently(count: tasks.count, jobs: options.jobs) {
            t -> Result<SegmentResult, MediaError> in
            let task = frozenTasks[t]
            guard case .success(let plan) = frozenPlans[task.video] else { fatalError("task for a failed plan") }
            return Result { () throws(MediaError) -> SegmentResult in
                try extractSegment(
                    plan: plan, segment: task.segment, range: task.range, options: options, progress: progress)
            }
        }
        return plans.enumerated().map { (i, plan) in
            switch plan {
            case .failure(let e): return .failure(e)
            case .success(let p):
                let segs = zip(frozenTasks, results).filter { $0.0.video == i }.map(\.1)
                do throws(MediaError) {
                    return .success(
                        try finish(plan: p, segments: segs, options: options, seconds: Date().timeIntervalSince(start)))
                } catch {
                    try? FileManager.default.removeItem(atPath: p.workDir)
                    return .failure(error)
                }
            }
        }
    }

    struct Plan: Sendable {
        var path: String
        var output: String
        var workDir: String
        var info: VideoInfo
        var index: PacketIndex
        var range: Range<Int>
        var segments: [Range<Int>] = []

        init(path: String, output: String, options: ExtractOptions) throws(MediaError) {
            let reader = try VideoReader(path: path, options: ReaderOptions(motionVectors: false))
            if !reader.info.exportsMotionVectors {
                throw MediaError(path: path, problem: ProbeProblems.noMotionCodec(reader.info.codec))
            }
            self.path = path
            self.output = output
            info = reader.info
            index = reader.index
            range = options.frames.clamped(to: info.frameCount)
            guard !range.isEmpty else {
                throw MediaError(
                    path: path, problem: "has \(info.frameCount) frames, so the range \(options.frames) selects none")
            }
            workDir = output + ".partial-\(getpid())"
            try? FileManager.default.removeItem(atPath: workDir)
            do {
                try FileManager.default.createDirectory(
                    atPath: workDir + "/keyframes", withIntermediateDirectories: true)
            } catch {
                throw MediaError(path: output, problem: "could not be created (\(error.localizedDescription))")
            }
        }
    }

    struct SegmentResult: Sendable {
        var frames = 0
        var firstIndex: Int?
        var lastIndex = -1
        var keyframes = 0
        var vectors = 0
        var interFrames = 0
    }

    static func partName(_ workDir: String, _ segment: Int, _ ext: String) -> String {
        "\(workDir)/part-\(segment).\(ext)"
    }

    static func extractSegment(
        plan: Plan, segment: Int, range: Range<Int>, options: ExtractOptions, progress: ProgressCounter?
    ) throws(MediaError) -> SegmentResult {
        let images: ReaderOptions.Images = options.keyframes == .none ? .none : .intra
        let reader = try VideoReader(
            path: plan.path, options: ReaderOptions(images: images), index: plan.index)
        if range.lowerBound > 0 { try reader.seek(toFrame: range.lowerBound) }
        let csv = options.csv ? try BufferedFile(creating: partName(plan.workDir, segment, "csv")) : nil
        let fields =
            options.fields != .none ? try BufferedFile(creating: partName(plan.workDir, segment, "field")) : nil
        let masks = options.fields != .none ? try BufferedFile(creating: partName(plan.workDir, segment, "mask")) : nil
        let jsonl = try BufferedFile(creating: partName(plan.workDir, segment, "jsonl"))
        let png = PNGEncoder()
        var result = SegmentResult()
        var rows: [UInt8] = []
        var pending = 0
        let w = plan.info.width
        let h = plan.info.height
        while let frame = try reader.next() {
            let i = frame.info.index
            if i >= range.upperBound { break }
            if i < range.lowerBound { continue }
            result.frames += 1
            result.firstIndex = result.firstIndex ?? i
            result.lastIndex = i
            if frame.info.pictureType.isInter { result.interFrames += 1 }
            result.vectors += frame.motionVectors.count
            let wantKey = options.keyframes == .intra || (options.keyframes == .key && frame.info.isKey)
            if wantKey, let image = frame.image {
                let name = String(format: "%@/keyframes/frame_%06d.png", plan.workDir, i)
                try writeAtomically(try png.encode(image, name: name), to: name)
                result.keyframes += 1
            }
            if let csv {
                rows.removeAll(keepingCapacity: true)
                for v in frame.motionVectors { MotionCSV.appendRow(to: &rows, frameNumber: i + 1, v) }
                try csv.write(rows)
            }
            if let fields, let masks {
                let field = MotionField(
                    vectors: frame.motionVectors, frameWidth: w, frameHeight: h, cellSize: options.cellSize,
                    lists: options.lists)
                switch options.fields {
                case .cmd: try fields.write(contentsOf: field.cmdNormalized())
                case .qpel: try fields.write(contentsOf: field.quarterPel())
                case .none: break
                }
                try masks.write(contentsOf: field.mask)
            }
            let summary = FrameMotionSummary(frame: frame, frameWidth: w, frameHeight: h)
            try jsonl.write(jsonLine(frame.info, summary))
            pending += 1
            if pending == 16 {
                progress?.add(pending)
                pending = 0
            }
        }
        progress?.add(pending)
        try csv?.close()
        try fields?.close()
        try masks?.close()
        try jsonl.close()
        return result
    }

    static func finish(
        plan: Plan, segments: [Result<SegmentResult, MediaError>], options: ExtractOptions, seconds: Double
    ) throws(MediaError) -> ExtractSummary {
        var parts: [SegmentResult] = []
        for s in segments {
            switch s {
            case .success(let r): parts.append(r)
            case .failure(let e): throw e
            }
        }
        let frames = parts.reduce(0) { $0 + $1.frames }
        guard frames > 0 else {
            throw MediaError(path: plan.path, problem: "yielded no decodable frame in the range \(options.frames)")
        }
        if parts.reduce(0, { $0 + $1.interFrames }) == 0 {
            throw MediaError(
                path: plan.path,
                problem: frames == 1
                    ? "holds a single frame (an I-frame), so it has no motion vectors"
                    : "is intra-only: all \(frames) frames are I-frames, so it has no motion vectors")
        }
        let n = parts.count
        let dir = plan.workDir
        if options.csv {
            let out = try BufferedFile(creating: dir + "/mvs.csv")
            try out.write(MotionCSV.header + "\n")
            for s in 0..<n { try out.append(fileAt: partName(dir, s, "csv")) }
            try out.close()
        }
        if options.fields != .none {
            let cols = (plan.info.width + options.cellSize - 1) / options.cellSize
            let rows = (plan.info.height + options.cellSize - 1) / options.cellSize
            let dtype: NPY.DType = options.fields == .cmd ? .float32 : .int16
            let field = try BufferedFile(creating: dir + "/motion.npy")
            try field.write(NPY.header(dtype: dtype, shape: [frames, 2, rows, cols]))
            for s in 0..<n { try field.append(fileAt: partName(dir, s, "field")) }
            try field.close()
            let mask = try BufferedFile(creating: dir + "/motion_mask.npy")
            try mask.write(NPY.header(dtype: .uint8, shape: [frames, rows, cols]))
            for s in 0..<n { try mask.append(fileAt: partName(dir, s, "mask")) }
            try mask.close()
        }
        let jsonl = try BufferedFile(creating: dir + "/frames.jsonl")
        for s in 0..<n { try jsonl.append(fileAt: partName(dir, s, "jsonl")) }
        try jsonl.close()
        for s in 0..<n {
            for ext in ["csv", "field", "mask", "jsonl"] { unlink(partName(dir, s, ext)) }
        }
        let summary = ExtractSummary(
            path: plan.path, output: plan.output, frames: frames, firstFrame: parts.first?.firstIndex ?? 0,
            keyframes: parts.reduce(0) { $0 + $1.keyframes }, vectors: parts.reduce(0) { $0 + $1.vectors },
            segments: n, seconds: seconds)
        try writeAtomically(
            Array(videoJSON(plan: plan, options: options, summary: summary).utf8), to: dir + "/video.json")
        // Replace any previous output only now that the new one is complete.
        if FileManager.default.fileExists(atPath: plan.output) {
            do { try FileManager.default.removeItem(atPath: plan.output) } catch {
                throw MediaError(path: plan.output, problem: "could not be replaced (\(error.localizedDescription))")
            }
        }
        do { try AtomicFile.commit(dir, to: plan.output) } catch {
            throw MediaError(
                path: plan.output, problem: "could not be created (\((error as? FileWriteError)?.reason ?? "\(error)"))"
            )
        }
        return summary
    }

    static func jsonLine(_ f: FrameInfo, _ s: FrameMotionSummary) -> String {
        let pts = f.pts.map(String.init) ?? "null"
        return "{\"index\":\(f.index),\"pts\":\(pts),\"time\":\(fmt(f.time, 6)),\"type\":\"\(f.pictureType.rawValue)\","
            + "\"key\":\(f.isKey),\"packet_size\":\(f.packetSize),\"vectors\":\(s.vectors),\"list0\":\(s.list0),"
            + "\"list1\":\(s.list1),\"coverage\":\(fmt(s.coverage, 4)),\"intra_share\":\(fmt(s.intraShare, 4)),"
            + "\"mean_length\":\(fmt(s.meanLength, 3)),\"max_length\":\(fmt(s.maxLength, 3))}\n"
    }

    static func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

    static func videoJSON(plan: Plan, options: ExtractOptions, summary: ExtractSummary) -> String {
        struct Doc: Encodable {
            var video: VideoInfo
            var extract: ExtractSummary
            var layout: [String: String]
        }
        let cols = (plan.info.width + options.cellSize - 1) / options.cellSize
        let rows = (plan.info.height + options.cellSize - 1) / options.cellSize
        let doc = Doc(
            video: plan.info, extract: summary,
            layout: [
                "frames":
                    "display indices \(summary.firstFrame)..<\(summary.firstFrame + summary.frames); row i of every array is frame first_frame + i",
                "motion.npy": options.fields == .none
                    ? "not written"
                    : "\(options.fields == .cmd ? "float32, clamped to ±10 px and divided by 10" : "int16 quarter pixels") [\(summary.frames), 2, \(rows), \(cols)]: channel 0 dx, channel 1 dy; forward motion (dst - src for list 0, negated for list 1); lists \(options.lists.rawValue); \(options.cellSize)x\(options.cellSize)-pixel cells; zero where no vector",
                "motion_mask.npy": options.fields == .none
                    ? "not written"
                    : "uint8 [\(summary.frames), \(rows), \(cols)]: bit 0 list-0 vector, bit 1 list-1 vector, 0 = intra or I-frame",
                "mvs.csv": options.csv ? "FFmpeg extract_mvs.c columns; framenum = display index + 1" : "not written",
                "keyframes": "keyframes/frame_NNNNNN.png, \(options.keyframes.rawValue) frames, RGB, full size",
            ])
        return Console.json(doc) + "\n"
    }
}

/// Sentences shared by `probe` and `extract`.
enum ProbeProblems {
    static func noMotionCodec(_ codec: String) -> String {
        "uses codec \(codec), which carries no motion vectors FFmpeg can export (only H.264, MPEG-4 Part 2, MPEG-1/2 and H.263 do); re-encode it, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4"
    }
}
