import VideoData

/// Everything `decouple probe` reports about one video.
public struct ProbeReport: Sendable, Codable {
    public var info: VideoInfo
    public var motion: MotionStatistics.Summary
    /// Packets the decoder rejected as damaged.
    public var damagedPackets: Int
    /// Why reading stopped early, for a truncated or damaged file.
    public var readError: String?

    enum CodingKeys: String, CodingKey {
        case info, motion, warnings
        case damagedPackets = "damaged_packets"
        case readError = "read_error"
    }

    /// Decodes every frame once (single-threaded, so vectors are exact) and summarises it.
    public init(path: String) throws(MediaError) {
        let reader = try VideoReader(path: path)
        var stats = MotionStatistics()
        while let frame = try reader.next() {
            let summary = FrameMotionSummary(
                frame: frame, frameWidth: reader.info.width, frameHeight: reader.info.height)
            stats.add(frame, summary: summary)
        }
        info = reader.info
        motion = stats.summary
        damagedPackets = reader.damagedPackets
        readError = reader.readError
        warnings = Self.warnings(info: info, motion: motion, damagedPackets: damagedPackets, readError: readError)
    }

    /// Things a user should know about a video that is still usable: a file cut short,
    /// damaged packets, frames the decoder could not output.
    public private(set) var warnings: [String] = []

    static func warnings(info: VideoInfo, motion: MotionStatistics.Summary, damagedPackets: Int, readError: String?)
        -> [String]
    {
        var out: [String] = []
        if let e = readError { out.append("reading stopped early (\(e)); the frames before that point are reported") }
        if info.declaredFrameCount > info.frameCount {
            out.append(
                "the container lists \(info.declaredFrameCount) frames but only \(info.frameCount) could be read: the file is probably cut short"
            )
        }
        if damagedPackets > 0 { out.append("the decoder rejected \(damagedPackets) damaged packets") }
        if motion.frames < info.frameCount {
            out.append("\(info.frameCount - motion.frames) of \(info.frameCount) frames could not be decoded")
        }
        return out
    }

    /// Why this video is no use for motion-vector work, as a sentence fragment that follows the
    /// file name; nil when it has vectors.
    public var motionProblem: String? {
        if !info.exportsMotionVectors {
            return ProbeProblems.noMotionCodec(info.codec)
        }
        if motion.frames == 0 {
            return "has a video stream but no frame could be decoded"
        }
        if motion.pFrames + motion.bFrames == 0 {
            return motion.frames == 1
                ? "holds a single frame (an I-frame), so it has no motion vectors"
                : "is intra-only: all \(motion.frames) frames are I-frames, so it has no motion vectors"
        }
        if motion.vectors == 0 {
            return "has \(motion.pFrames + motion.bFrames) inter frames but the decoder exported no motion vectors"
        }
        return nil
    }
}
