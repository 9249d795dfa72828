/// Per-frame motion summary: what the TUI status line and `frames.jsonl` show.
public struct FrameMotionSummary: Sendable, Equatable, Codable {
    public var vectors: Int
    public var list0: Int
    public var list1: Int
    /// Area covered by list-0 / list-1 / any vector, over the macroblock-aligned frame area.
    public var coverageList0: Double
    public var coverageList1: Double
    public var coverage: Double
    /// Share of the coded area without vectors (intra blocks); 1 for I-frames.
    public var intraShare: Double
    /// Mean and max vector length in pixels (`|motion| / scale`), over all vectors.
    public var meanLength: Double
    public var maxLength: Double

    public init(frame: VideoFrame, frameWidth: Int, frameHeight: Int) {
        let mvs = frame.motionVectors
        vectors = mvs.count
        var l0 = 0
        var l1 = 0
        var a0 = 0
        var a1 = 0
        var sum = 0.0
        var mx = 0.0
        for v in mvs {
            let area = Int(v.w) * Int(v.h)
            if v.isList1 {
                l1 += 1
                a1 += area
            } else {
                l0 += 1
                a0 += area
            }
            let d = v.dstMinusSrc
            let len = Double((d.dx * d.dx + d.dy * d.dy).squareRoot())
            sum += len
            mx = max(mx, len)
        }
        list0 = l0
        list1 = l1
        let mbArea = Double(((frameWidth + 15) / 16) * ((frameHeight + 15) / 16) * 256)
        coverageList0 = Double(a0) / mbArea
        coverageList1 = Double(a1) / mbArea
        if mvs.isEmpty {
            coverage = 0
        } else {
            // The union of both lists: an 8-pixel field is exact for exported block sizes.
            let field = MotionField(
                vectors: mvs, frameWidth: ((frameWidth + 15) / 16) * 16,
                frameHeight: ((frameHeight + 15) / 16) * 16, cellSize: 8)
            coverage = field.coverage
        }
        intraShare = 1 - coverage
        meanLength = mvs.isEmpty ? 0 : sum / Double(mvs.count)
        maxLength = mx
    }

    enum CodingKeys: String, CodingKey {
        case vectors, list0, list1, coverage
        case intraShare = "intra_share"
        case coverageList0 = "coverage_list0"
        case coverageList1 = "coverage_list1"
        case meanLength = "mean_length"
        case maxLength = "max_length"
    }
}

/// Whole-video statistics accumulated frame by frame in constant memory (`decouple probe`).
public struct MotionStatistics: Sendable {
    public private(set) var frames = 0
    public private(set) var typeCounts: [PictureType: Int] = [:]
    public private(set) var keyFrames = 0
    /// Distance between consecutive I-frames, as a histogram (length -> count).
    public private(set) var gopHistogram: [Int: Int] = [:]
    private var lastIFrame: Int?
    private var lastIndex = -1

    public private(set) var vectors = 0
    public private(set) var list0 = 0
    public private(set) var list1 = 0
    public private(set) var vectorsByType: [PictureType: Int] = [:]
    public private(set) var minPerP = Int.max
    public private(set) var maxPerP = 0
    public private(set) var blockSizes: [String: Int] = [:]
    public private(set) var zero = 0
    public private(set) var subPel = 0
    public private(set) var sumLength = 0.0
    public private(set) var maxLength = 0.0
    public private(set) var motionScales: Set<Int> = []
    private var coverageP = 0.0
    private var coverageB0 = 0.0
    private var coverageB1 = 0.0
    private var intraShareInter = 0.0
    /// Inter frames (P/B) that carried no vector at all (entirely intra-coded).
    public private(set) var interFramesWithoutVectors = 0

    public init() {}

    public mutating func add(_ frame: VideoFrame, summary: FrameMotionSummary) {
        let t = frame.info.pictureType
        frames += 1
        typeCounts[t, default: 0] += 1
        if frame.info.isKey { keyFrames += 1 }
        lastIndex = frame.info.index
        if t == .i {
            if let last = lastIFrame { gopHistogram[frame.info.index - last, default: 0] += 1 }
            lastIFrame = frame.info.index
        }
        let mvs = frame.motionVectors
        vectors += mvs.count
        vectorsByType[t, default: 0] += mvs.count
        list0 += summary.list0
        list1 += summary.list1
        if t == .p {
            minPerP = min(minPerP, mvs.count)
            maxPerP = max(maxPerP, mvs.count)
            coverageP += summary.coverageList0
        } else if t == .b {
            coverageB0 += summary.coverageList0
            coverageB1 += summary.coverageList1
        }
        if t.isInter {
            intraShareInter += summary.intraShare
            if mvs.isEmpty { interFramesWithoutVectors += 1 }
        }
        for v in mvs {
            blockSizes["\(v.w)x\(v.h)", default: 0] += 1
            motionScales.insert(Int(v.motionScale))
            if v.motionX == 0 && v.motionY == 0 { zero += 1 }
            let s = Int32(max(v.motionScale, 1))
            if v.motionX % s != 0 || v.motionY % s != 0 { subPel += 1 }
        }
        sumLength += summary.meanLength * Double(mvs.count)
        maxLength = max(maxLength, summary.maxLength)
    }

    public func count(_ t: PictureType) -> Int { typeCounts[t, default: 0] }

    /// I-frame distances; the open run after the last I-frame counts as a GOP too.
    public var gopLengths: [Int] {
        var all = gopHistogram.flatMap { Array(repeating: $0.key, count: $0.value) }
        if let last = lastIFrame { all.append(lastIndex - last + 1) }
        return all.sorted()
    }

    public var summary: Summary {
        let gops = gopLengths
        let p = count(.p)
        let b = count(.b)
        let inter = p + b
        return Summary(
            frames: frames, iFrames: count(.i), pFrames: p, bFrames: b, otherFrames: count(.other),
            keyFrames: keyFrames, gops: gops.count, gopMin: gops.first ?? 0, gopMax: gops.last ?? 0,
            gopMean: gops.isEmpty ? 0 : Double(gops.reduce(0, +)) / Double(gops.count),
            vectors: vectors, list0: list0, list1: list1,
            meanPerP: p > 0 ? Double(vectorsByType[.p, default: 0]) / Double(p) : 0,
            meanPerB: b > 0 ? Double(vectorsByType[.b, default: 0]) / Double(b) : 0,
            minPerP: p > 0 ? minPerP : 0, maxPerP: maxPerP,
            blockSizes: blockSizes.mapValues { vectors > 0 ? Double($0) / Double(vectors) : 0 },
            zeroShare: vectors > 0 ? Double(zero) / Double(vectors) : 0,
            subPelShare: vectors > 0 ? Double(subPel) / Double(vectors) : 0,
            meanLength: vectors > 0 ? sumLength / Double(vectors) : 0, maxLength: maxLength,
            coverageP: p > 0 ? coverageP / Double(p) : 0,
            coverageBList0: b > 0 ? coverageB0 / Double(b) : 0,
            coverageBList1: b > 0 ? coverageB1 / Double(b) : 0,
            intraShare: inter > 0 ? intraShareInter / Double(inter) : 0,
            interFramesWithoutVectors: interFramesWithoutVectors,
            motionScales: motionScales.sorted())
    }

    /// The numbers `probe` prints, in a stable JSON shape.
    public struct Summary: Codable, Sendable, Equatable {
        public var frames, iFrames, pFrames, bFrames, otherFrames, keyFrames: Int
        public var gops, gopMin, gopMax: Int
        public var gopMean: Double
        public var vectors, list0, list1: Int
        public var meanPerP, meanPerB: Double
        public var minPerP, maxPerP: Int
        /// Share of all vectors per block size ("16x16", "16x8", "8x16", "8x8").
        public var blockSizes: [String: Double]
        public var zeroShare, subPelShare, meanLength, maxLength: Double
        public var coverageP, coverageBList0, coverageBList1, intraShare: Double
        public var interFramesWithoutVectors: Int
        public var motionScales: [Int]

        enum CodingKeys: String, CodingKey {
            case frames, gops, vectors, list0, list1
            case iFrames = "i_frames"
            case pFrames = "p_frames"
            case bFrames = "b_frames"
            case otherFrames = "other_frames"
            case keyFrames = "key_frames"
            case gopMin = "gop_min"
            case gopMax = "gop_max"
            case gopMean = "gop_mean"
            case meanPerP = "mean_per_p"
            case meanPerB = "mean_per_b"
            case minPerP = "min_per_p"
            case maxPerP = "max_per_p"
            case blockSizes = "block_sizes"
            case zeroShare = "zero_share"
            case subPelShare = "subpel_share"
            case meanLength = "mean_length_px"
            case maxLength = "max_length_px"
            case coverageP = "coverage_p"
            case coverageBList0 = "coverage_b_list0"
            case coverageBList1 = "coverage_b_list1"
            case intraShare = "intra_share_inter"
            case interFramesWithoutVectors = "inter_frames_without_vectors"
            case motionScales = "motion_scales"
        }
    }
}
