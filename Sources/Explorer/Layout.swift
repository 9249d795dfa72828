/// Where each pane goes for a given terminal size (at least 80x24).
///
/// ```
/// header                                                     row 0
/// timeline: frame types, then cursor / window / embeddings   rows 1-2
/// motion-energy strip: mean vector length, intra share       rows 3-4 (more when spare)
/// ┌ Frame ──────────────────┐┌ Clips ──────────────┐
/// │ picture (aspect kept)   ││ videos and windows  │
/// │ frame info              │├ Embeddings ─────────┤
/// └─────────────────────────┘│ norms, neighbours   │
/// ┌ Motion ─────────────────┐│                     │
/// │ arrow grid, statistics  ││                     │
/// └─────────────────────────┘└─────────────────────┘
/// status bar / key hints                                     last row
/// ```
///
/// The frame and motion panes are stacked (as drawn) or side by side, whichever shows the
/// larger pictures, and the split between them is searched for, not halved: the frame picture
/// grows with the terminal while the arrow grid keeps a readable minimum (smaller when the
/// motion overlay puts the arrows on the frame). Space the pictures cannot use, because their
/// aspect is fixed, goes to the clips and embeddings column (stacked), or (side by side) to the
/// clips list, which moves under the two panes, or else to a taller strip, instead of leaving
/// empty halves inside the panes.
public struct Layout: Equatable {
    public var header: Rect
    public var timeline: Rect
    /// The motion-energy strip under the timeline (same columns per frame).
    public var strip: Rect
    public var frame: Rect
    public var motion: Rect
    public var clips: Rect
    public var embeddings: Rect
    public var status: Rect
    /// Frame above motion (true) or beside it.
    public var stacked = false

    /// Text rows under the picture in the frame pane, and under the grid in the motion pane.
    public static let frameTextRows = 2
    public static let motionTextRows = 3
    static let stripRows = 2
    static let maxStripRows = 6
    static let minimumClipsRows = 6

    public init(width w: Int, height h: Int, videoWidth: Int? = nil, videoHeight: Int? = nil, overlay: Bool = false) {
        header = Rect(x: 0, y: 0, width: w, height: 1)
        timeline = Rect(x: 0, y: 1, width: w, height: 2)
        status = Rect(x: 0, y: h - 1, width: w, height: 1)
        // From 175 columns the right column takes two fifths, 70 columns or more: enough for
        // the embeddings pane to show its three views side by side.
        var right = w >= 175 ? w * 2 / 5 : max(30, min(56, w * 3 / 10))
        var stripRows = Self.stripRows
        var centre = w - right
        let top = 3
        let panes = h - top - 1  // rows for the strip and the panes
        var midTop = top + stripRows
        var midHeight = panes - stripRows
        // Without the video's size: side by side, halves.
        let half = centre / 2
        frame = Rect(x: 0, y: midTop, width: half, height: midHeight)
        motion = Rect(x: half, y: midTop, width: centre - half, height: midHeight)
        if let vw = videoWidth, let vh = videoHeight, vw > 0, vh > 0,
            let best = Self.bestSplit(width: centre, height: midHeight, vw: vw, vh: vh, overlay: overlay)
        {
            stacked = best.stacked
            if best.stacked {
                // Columns the pictures cannot use go to the right-hand column.
                let used = max(best.frameColumns, best.gridColumns) + 2
                if centre - used > 0 {
                    right += centre - used
                    centre = used
                }
                frame = Rect(x: 0, y: midTop, width: centre, height: best.split)
                motion = Rect(x: 0, y: midTop + best.split, width: centre, height: midHeight - best.split)
            } else {
                let used = max(best.frameRows + Self.frameTextRows, best.gridRows + Self.motionTextRows) + 2
                let spare = max(0, midHeight - used)
                if spare >= Self.minimumClipsRows {
                    // Rows neither picture can use: the clips list moves under the two panes and
                    // the embeddings take the whole right-hand column.
                    frame = Rect(x: 0, y: midTop, width: best.split, height: used)
                    motion = Rect(x: best.split, y: midTop, width: centre - best.split, height: used)
                    clips = Rect(x: 0, y: midTop + used, width: centre, height: spare)
                    embeddings = Rect(x: centre, y: midTop, width: right, height: midHeight)
                    strip = Rect(x: 0, y: top, width: w, height: stripRows)
                    return
                }
                // Too few for the clips list: a taller strip (small terminals keep their rows).
                let grow = h >= 36 ? min(Self.maxStripRows - stripRows, spare) : 0
                stripRows += grow
                midTop += grow
                midHeight -= grow
                frame = Rect(x: 0, y: midTop, width: best.split, height: midHeight)
                motion = Rect(x: best.split, y: midTop, width: centre - best.split, height: midHeight)
            }
        }
        strip = Rect(x: 0, y: top, width: w, height: stripRows)
        let clipsHeight = max(6, midHeight * 2 / 5)
        clips = Rect(x: centre, y: midTop, width: right, height: clipsHeight)
        embeddings = Rect(x: centre, y: midTop + clipsHeight, width: right, height: midHeight - clipsHeight)
    }

    struct Split {
        var stacked: Bool
        /// Frame pane width (side by side) or height (stacked).
        var split: Int
        var frameColumns, frameRows, gridColumns, gridRows: Int
    }

    /// Tries every split, side by side and stacked, and keeps the one with the best score:
    /// the square roots of the two picture areas (so neither starves), the grid weighted
    /// less than the picture, and much less with the overlay on. Without a split that gives
    /// the grid `minimumGridRows` rows, the grid's minimum is dropped.
    static func bestSplit(width W: Int, height H: Int, vw: Int, vh: Int, overlay: Bool) -> Split? {
        // With the overlay the arrows are on the frame: the motion pane may shrink to its
        // figures. Without it the grid should be readable (8 rows), else at least present.
        for minimumGridRows in overlay ? [0] : [8, 3, 0] {
            if let s = bestSplit(
                width: W, height: H, vw: vw, vh: vh, overlay: overlay, minimumGridRows: minimumGridRows)
            {
                return s
            }
        }
        return nil
    }

    static func bestSplit(width W: Int, height H: Int, vw: Int, vh: Int, overlay: Bool, minimumGridRows: Int) -> Split?
    {
        let gridWeight = overlay ? 0.3 : 0.8
        var best: (score: Double, split: Split)? = nil
        func consider(_ s: Split) {
            let score =
                Double(s.frameColumns * s.frameRows).squareRoot()
                + gridWeight * Double(s.gridColumns * s.gridRows).squareRoot()
            if s.gridRows >= minimumGridRows, score > (best?.score ?? -1) { best = (score, s) }
        }
        let minFrame = 24
        // The motion pane's figures and legend need 40 columns (42 with the box) to stay readable; narrow
        // terminals accept less rather than stacking two tiny pictures.
        let minMotion = min(42, W / 2)
        // The frame is never the smaller of the two.
        let firstFrameWidth = max(minFrame, (W + 1) / 2)
        if firstFrameWidth <= W - minMotion {
            for fw in firstFrameWidth...(W - minMotion) {
                let f = fit(columns: fw - 2, rows: H - 2 - frameTextRows, vw: vw, vh: vh)
                let g = fit(columns: W - fw - 2, rows: H - 2 - motionTextRows, vw: vw, vh: vh)
                consider(
                    Split(stacked: false, split: fw, frameColumns: f.0, frameRows: f.1, gridColumns: g.0, gridRows: g.1)
                )
            }
        }
        let minFrameRows = 2 + frameTextRows + 3
        let minMotionRows = 2 + motionTextRows + min(minimumGridRows, 3)
        if H >= minFrameRows + minMotionRows {
            for fh in minFrameRows...(H - minMotionRows) {
                let f = fit(columns: W - 2, rows: fh - 2 - frameTextRows, vw: vw, vh: vh)
                let g = fit(columns: W - 2, rows: H - fh - 2 - motionTextRows, vw: vw, vh: vh)
                consider(
                    Split(stacked: true, split: fh, frameColumns: f.0, frameRows: f.1, gridColumns: g.0, gridRows: g.1))
            }
        }
        return best?.split
    }

    /// The largest `columns x rows` within the given room that keeps a `vw x vh` aspect (a cell
    /// is about twice as tall as wide).
    public static func fit(columns maxCols: Int, rows maxRows: Int, vw: Int, vh: Int) -> (Int, Int) {
        guard maxCols >= 1, maxRows >= 1 else { return (0, 0) }
        var cols = maxCols
        var rows = Thumbnail.rows(forColumns: cols, imageWidth: vw, imageHeight: vh)
        if rows > maxRows {
            rows = maxRows
            cols = min(maxCols, max(1, Int((Double(rows) * 2 * Double(vw) / Double(vh)).rounded())))
        }
        return (max(1, cols), max(1, rows))
    }

    /// The frame picture: as large as the frame pane allows with the video's aspect, leaving
    /// `reserved` rows (the frame's details) below it.
    public func imageSize(videoWidth: Int, videoHeight: Int, reserved: Int = frameTextRows) -> (columns: Int, rows: Int)
    {
        let f = Self.fit(
            columns: frame.inner.width, rows: max(1, frame.inner.height - reserved), vw: videoWidth, vh: videoHeight)
        return (f.0, f.1)
    }

    /// The arrow grid in the motion pane, with the same aspect, leaving `motionTextRows`; nil
    /// when the pane has no room for a grid worth reading (the overlay shrank it to its figures).
    public func gridSize(videoWidth: Int, videoHeight: Int) -> (columns: Int, rows: Int)? {
        guard motion.inner.height - Self.motionTextRows >= 3 else { return nil }
        let g = Self.fit(
            columns: motion.inner.width, rows: max(1, motion.inner.height - Self.motionTextRows), vw: videoWidth,
            vh: videoHeight)
        return (g.0, g.1)
    }
}
