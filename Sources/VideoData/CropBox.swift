/// A crop box in source pixels and whether to mirror it (left to right, and upside down).
public struct CropBox: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
    public var flip: Bool
    /// Upside down (`pretrain --vertical-flips`): rows reversed, the vectors' dy negated.
    public var flipVertical: Bool

    public init(x: Int, y: Int, width: Int, height: Int, flip: Bool, flipVertical: Bool = false) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.flip = flip
        self.flipVertical = flipVertical
    }

    /// The validation transform: short side to `scale`, centre crop `crop`, as a box in source
    /// pixels (the same region the resize-then-crop would keep).
    public static func centre(width: Int, height: Int, scale: Int = 128, crop: Int = 112) -> CropBox {
        let f = Double(scale) / Double(min(width, height))
        let side = Int((Double(crop) / f).rounded())
        return CropBox(
            x: (width - side) / 2, y: (height - side) / 2, width: min(side, width), height: min(side, height),
            flip: false)
    }

    /// The largest centred box whose aspect ratio lies in `ratio`: the whole frame when its
    /// aspect does. The widest view pretraining's random crops could take (areas up to the
    /// whole frame, aspects 3/4 to 4/3), and their fallback after ten misses.
    public static func widest(width: Int, height: Int, ratio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3)) -> CropBox {
        let inRatio = Double(width) / Double(height)
        var w = width
        var h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded())
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded())
        }
        return CropBox(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h, flip: false)
    }
}
