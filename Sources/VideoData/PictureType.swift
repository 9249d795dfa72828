/// The coding type of a picture, as the decoder reports it (`AVFrame.pict_type`).
///
/// H.264 takes it from the slice type. An I-frame is not necessarily a key frame: x264 puts
/// non-IDR I-frames at scene cuts, so `FrameInfo.isKey` is kept separately.
public enum PictureType: String, Codable, Sendable, CaseIterable {
    case i = "I"
    case p = "P"
    case b = "B"
    /// S (GMC), SI, SP, BI or no type: rare in practice, kept so nothing is silently relabelled.
    case other = "?"

    /// Letter used by `ffprobe -show_frames` and `av_get_picture_type_char`.
    public var letter: Character { Character(rawValue) }

    /// Inter-coded pictures are the ones that can carry motion vectors.
    public var isInter: Bool { self == .p || self == .b }
}
