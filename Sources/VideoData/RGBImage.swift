/// An 8-bit RGB image, rows top to bottom, pixels packed `RGBRGB...` with no row padding.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "RGBImage needs a positive size")
        precondition(pixels.count == width * height * 3, "RGBImage pixel count mismatch")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Red, green, blue at (x, y).
    public func pixel(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let o = (y * width + x) * 3
        return (pixels[o], pixels[o + 1], pixels[o + 2])
    }
}

/// A keyframe (I-frame) with its picture: the "context" half of CMD.
public struct Keyframe: Sendable {
    public var frame: FrameInfo
    public var image: RGBImage

    public init(frame: FrameInfo, image: RGBImage) {
        self.frame = frame
        self.image = image
    }
}
