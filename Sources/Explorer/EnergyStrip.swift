import VideoData

/// The motion-energy strip under the timeline, with the timeline's columns: bars of the mean
/// vector length per frame (where the action is), and under them the intra share of P and B
/// frames (a frame mostly coded without vectors is a scene cut or a flash). Filled by the
/// background scan, like the timeline's frame types; columns not scanned yet stay blank.
extension Renderer {
    static let eighths: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    static let intraShades: [Character] = [" ", "░", "▒", "▓", "█"]
    static let intraShadesASCII: [Character] = [" ", ".", ":", "+", "#"]

    func energyStrip(_ screen: inout Screen, _ s: ExplorerState, _ r: Rect) {
        guard r.height >= 2, let v = s.video, let info = v.info, info.frameCount > 0 else { return }
        let n = info.frameCount
        let w = r.width
        let barRows = r.height - 1
        // Normalise by a high percentile, not the maximum: one violent frame should not
        // flatten the rest of the plot.
        let lengths = v.marks.filter { $0.type != .i }.map(\.meanLength).sorted()
        let top = lengths.isEmpty ? 1 : max(0.5, lengths[min(lengths.count - 1, lengths.count * 98 / 100)])
        for c in 0..<w {
            let lo = c * n / w
            let hi = min(n, max(lo + 1, (c + 1) * n / w))
            guard lo < v.marks.count else { continue }
            // The busiest frame of the column: peaks must not average away.
            var length: Float = 0
            var intra: Float = 0
            for f in lo..<min(hi, v.marks.count) where v.marks[f].type != .i {
                length = max(length, v.marks[f].meanLength)
                intra = max(intra, 1 - v.marks[f].coverage)
            }
            let level = min(1, length / top)
            let style = ArrowGrid.style(
                s.caps, c256: ArrowGrid.ramp256[Int((level * Float(ArrowGrid.ramp256.count - 1)).rounded())], c16: 6,
                attrs: [])
            let total = Int((level * Float(barRows * 8)).rounded())
            for k in 0..<barRows {
                let fill = min(8, max(0, total - k * 8))
                let glyph: Character =
                    s.caps.unicode ? Self.eighths[fill] : (fill >= 6 ? "#" : fill >= 3 ? "+" : fill >= 1 ? "." : " ")
                screen[r.x + c, r.maxY - 2 - k] = Cell(glyph, style)
            }
            // Intra share in five steps; under 15% is the usual noise of a P frame and stays blank.
            let step = intra < 0.15 ? 0 : min(4, 1 + Int(intra * 4))
            let shades = s.caps.unicode ? Self.intraShades : Self.intraShadesASCII
            screen[r.x + c, r.maxY - 1] = Cell(
                shades[step], ArrowGrid.style(s.caps, c256: 167, c16: 1, attrs: step == 4 ? [.bold] : []))
        }
        screen.hits.append(Hit(r, .timeline(frames: n)))
    }
}
