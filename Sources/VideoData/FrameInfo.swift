/// What is known about one decoded frame, in presentation (display) order.
public struct FrameInfo: Equatable, Sendable, Codable {
    /// Position in display order, counted from the packets (0-based).
    public var index: Int
    /// Presentation timestamp in stream time-base units, when the container has one.
    public var pts: Int64?
    /// Presentation time in seconds from the start of the stream.
    public var time: Double
    public var pictureType: PictureType
    /// IDR picture or recovery point (`AVFrame.key_frame` in FFmpeg 5.1).
    public var isKey: Bool
    /// Size in bytes of the compressed packet that carried this frame.
    public var packetSize: Int

    public init(
        index: Int, pts: Int64?, time: Double, pictureType: PictureType, isKey: Bool,
        packetSize: Int
    ) {
        self.index = index
        self.pts = pts
        self.time = time
        self.pictureType = pictureType
        self.isKey = isKey
        self.packetSize = packetSize
    }

    enum CodingKeys: String, CodingKey {
        case index, pts, time
        case pictureType = "type"
        case isKey = "key"
        case packetSize = "packet_size"
    }
}

/// A decoded frame: its description and the motion vectors exported with it.
public struct VideoFrame: Sendable {
    public var info: FrameInfo
    /// Empty for I-frames and for codecs that export no vectors.
    public var motionVectors: [MotionVector]
    /// RGB pixels when the reader was asked for them (keyframes, or every frame).
    public var image: RGBImage?

    public init(info: FrameInfo, motionVectors: [MotionVector], image: RGBImage? = nil) {
        self.info = info
        self.motionVectors = motionVectors
        self.image = image
    }
}
