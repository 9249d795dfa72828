/// What the container and the stream header say about a video, plus the packet-level facts
/// (`frameCount`, `hasReordering`) from one demux pass.
public struct VideoInfo: Sendable, Codable, Equatable {
    public var path: String
    public var fileSize: Int
    /// libavformat's short and long names ("mov,mp4,m4a,3gp,3g2,mj2", "QuickTime / MOV").
    public var container: String
    public var containerLongName: String
    public var codec: String
    public var codecLongName: String
    public var profile: String?
    public var width: Int
    public var height: Int
    public var pixelFormat: String
    /// Average frame rate (or the stream's base rate when the average is unknown).
    public var fps: Double
    public var timeBase: Rational
    /// Presentation span of the packets, in seconds.
    public var duration: Double
    /// Frames counted from the demuxed packets (one packet per picture).
    public var frameCount: Int
    /// The frame count the container claims (0 when it does not say).
    public var declaredFrameCount: Int
    public var bitRate: Int
    /// True when packets arrive out of presentation order, i.e. the stream has B-frames.
    public var hasReordering: Bool
    /// Display indices of key packets (random-access points).
    public var keyFrameIndices: [Int]
    /// Whether FFmpeg's decoder for this codec exports motion vectors (docs/ffmpeg.md §4).
    public var exportsMotionVectors: Bool

    public struct Rational: Sendable, Codable, Equatable {
        public var num: Int
        public var den: Int
        public var value: Double { den == 0 ? 0 : Double(num) / Double(den) }
        public init(num: Int, den: Int) {
            self.num = num
            self.den = den
        }
    }

    public init(
        path: String, fileSize: Int, container: String, containerLongName: String, codec: String,
        codecLongName: String, profile: String?, width: Int, height: Int, pixelFormat: String, fps: Double,
        timeBase: Rational, duration: Double, frameCount: Int, declaredFrameCount: Int, bitRate: Int,
        hasReordering: Bool, keyFrameIndices: [Int], exportsMotionVectors: Bool
    ) {
        self.path = path
        self.fileSize = fileSize
        self.container = container
        self.containerLongName = containerLongName
        self.codec = codec
        self.codecLongName = codecLongName
        self.profile = profile
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        self.fps = fps
        self.timeBase = timeBase
        self.duration = duration
        self.frameCount = frameCount
        self.declaredFrameCount = declaredFrameCount
        self.bitRate = bitRate
        self.hasReordering = hasReordering
        self.keyFrameIndices = keyFrameIndices
        self.exportsMotionVectors = exportsMotionVectors
    }

    enum CodingKeys: String, CodingKey {
        case path, container, codec, profile, width, height, fps, duration
        case fileSize = "file_size"
        case containerLongName = "container_long_name"
        case codecLongName = "codec_long_name"
        case pixelFormat = "pixel_format"
        case timeBase = "time_base"
        case frameCount = "frame_count"
        case declaredFrameCount = "declared_frame_count"
        case bitRate = "bit_rate"
        case hasReordering = "has_b_frames"
        case keyFrameIndices = "key_frame_indices"
        case exportsMotionVectors = "exports_motion_vectors"
    }
}
