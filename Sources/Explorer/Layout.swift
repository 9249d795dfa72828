/// Where each pane goes for a given terminal size (at least 80x24).
///
/// ```
/// header                                                     row 0
/// timeline: frame types, then cursor / window / embeddings   rows 1-2
/// ┌ Frame ────────┐┌ Motion ───────┐┌ Clips ──────────────┐
/// │ thumbnail     ││ arrow grid    ││ videos and windows  │
/// │ frame info    ││ statistics    │├ Embeddings ─────────┤
/// └───────────────┘└───────────────┘│ norms, neighbours   │
/// status bar / key hints                                     last row
/// ```
public struct Layout: Equatable {
    public var header: Rect
    public var timeline: Rect
    public var frame: Rect
    public var motion: Rect
    public var clips: Rect
    public var embeddings: Rect
    public var status: Rect

    /// Lays out a `w x h` screen. With the video's size known, the frame and motion panes sit
    /// side by side or one above the other, whichever shows the larger picture.
    public init(width w: Int, height h: Int, videoWidth: Int? = nil, videoHeight: Int? = nil) {
        header = Rect(x: 0, y: 0, width: w, height: 1)
        timeline = Rect(x: 0, y: 1, width: w, height: 2)
        status = Rect(x: 0, y: h - 1, width: w, height: 1)
        // From 175 columns the right column takes two fifths, 70 columns or more: enough for
        // the embeddings pane to show its three views side by side.
        let right = w >= 175 ? w * 2 / 5 : max(30, min(56, w * 3 / 10))
        let centre = w - right
        let midTop = 3
        let midHeight = h - 4
        let half = centre / 2
        frame = Rect(x: 0, y: midTop, width: half, height: midHeight)
        motion = Rect(x: half, y: midTop, width: centre - half, height: midHeight)
        let clipsHeight = max(6, midHeight * 2 / 5)
        clips = Rect(x: centre, y: midTop, width: right, height: clipsHeight)
        embeddings = Rect(x: centre, y: midTop + clipsHeight, width: right, height: midHeight - clipsHeight)
        if let vw = videoWidth, let vh = videoHeight, vw > 0, vh > 0 {
            let side = imageSize(videoWidth: vw, videoHeight: vh)
            var stacked = self
            let top = midHeight / 2
            stacked.frame = Rect(x: 0, y: midTop, width: centre, height: top)
            stacked.motion = Rect(x: 0, y: midTop + top, width: centre, height: midHeight - top)
            let other = stacked.imageSize(videoWidth: vw, videoHeight: vh)
            if other.columns * other.rows > side.columns * side.rows {
                frame = stacked.frame
                motion = stacked.motion
            }
        }
    }

    /// Shared geometry of the thumbnail and the arrow grid inside the frame and motion panes:
    /// the largest size that keeps the video's aspect and leaves `reserved` rows for text.
    public func imageSize(videoWidth: Int, videoHeight: Int, reserved: Int = 3) -> (columns: Int, rows: Int) {
        let maxCols = min(frame.inner.width, motion.inner.width)
        let maxRows = max(1, min(frame.inner.height, motion.inner.height) - reserved)
        var cols = maxCols
        var rows = Thumbnail.rows(forColumns: cols, imageWidth: videoWidth, imageHeight: videoHeight)
        if rows > maxRows {
            rows = maxRows
            cols = min(maxCols, max(1, Int((Double(rows) * 2 * Double(videoWidth) / Double(videoHeight)).rounded())))
        }
        return (max(1, cols), max(1, rows))
    }
}
