import VideoData

extension Renderer {
    /// The frame pane's picture: text cells in the text tiers; in the pixel tiers an image at
    /// the pane's real pixel size, with the motion vectors drawn in when the overlay is on.
    func framePicture(
        _ screen: inout Screen, _ s: ExplorerState, _ view: FrameView, info: VideoInfo, x: Int, y: Int,
        size: (columns: Int, rows: Int)
    ) {
        guard s.caps.tier.pixelProtocol != nil else {
            var picture = Thumbnail.render(view.image, columns: size.columns, rows: size.rows, caps: s.caps)
            if s.motionOverlay && info.exportsMotionVectors { picture = overlay(picture, view, info, s) }
            screen.blit(picture, x: x, y: y)
            return
        }
        // The text layout assumes cells twice as tall as wide; with the real cell size the
        // picture fits the same box at its own aspect (within one cell).
        let fit = Self.pixelFit(
            columns: size.columns, rows: size.rows, cell: s.cellPixels, videoWidth: info.width,
            videoHeight: info.height)
        let overlay =
            s.motionOverlay && !view.vectors.isEmpty
            ? PictureOverlay.Input(
                vectors: view.vectors, frameWidth: info.width, frameHeight: info.height, lists: s.lists,
                scale: s.vectorScale) : nil
        screen.picture(
            view.image, x: x + (size.columns - fit.columns) / 2, y: y, columns: fit.columns, rows: fit.rows,
            caps: s.caps, cell: s.cellPixels, id: 1,
            key: "v\(s.current) f\(view.info.index)", overlay: overlay)
    }

    /// The most cells of `cell` pixels inside `columns x rows` that show a video of
    /// `videoWidth x videoHeight` at its aspect.
    static func pixelFit(columns: Int, rows: Int, cell: CellPixels, videoWidth: Int, videoHeight: Int) -> (
        columns: Int, rows: Int
    ) {
        guard videoWidth > 0, videoHeight > 0 else { return (columns, rows) }
        let boxW = Double(columns * cell.width)
        let boxH = Double(rows * cell.height)
        let scale = min(boxW / Double(videoWidth), boxH / Double(videoHeight))
        let c = Int((Double(videoWidth) * scale / Double(cell.width)).rounded())
        let r = Int((Double(videoHeight) * scale / Double(cell.height)).rounded())
        return (max(1, min(columns, c)), max(1, min(rows, r)))
    }
}
