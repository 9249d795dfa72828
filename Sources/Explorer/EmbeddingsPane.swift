/// The embeddings pane: the model, the views, each embedded clip's norm, and the focused
/// clip's nearest neighbours: in every view side by side when the pane is wide enough, else
/// in the view `v` selects.
extension Renderer {
    /// The narrowest column that holds a neighbour's label, cosine bar and value.
    static let viewColumnWidth = 22

    func embeddingsPane(_ screen: inout Screen, _ s: ExplorerState, _ r: Rect) {
        screen.box(r, title: "Embeddings", focused: s.focus == .embeddings, unicode: s.caps.unicode)
        let inner = r.inner
        var y = inner.y
        for line in wrap("model: \(s.modelDescription)", width: inner.width).prefix(3) {
            screen.text(inner.x, y, line, Style(attrs: [.dim]), maxWidth: inner.width)
            y += 1
        }
        guard let active = s.activeViewName else {
            screen.text(inner.x, y, "no views", Style(attrs: [.dim]), maxWidth: inner.width)
            return
        }
        viewsLine(&screen, s, active: active, x: inner.x, y: y, width: inner.width)
        y += 1
        guard !s.embedded.isEmpty else {
            screen.text(inner.x, y, "none yet: Space marks, e embeds", Style(attrs: [.dim]), maxWidth: inner.width)
            return
        }
        y = normList(&screen, s, view: active, inner: inner, y: y)
        guard let q = s.focusedClip, y < inner.maxY - 1 else { return }
        let columns = s.views.count * Self.viewColumnWidth + s.views.count - 1
        if s.views.count > 1 && inner.width >= columns {
            sideBySide(&screen, s, q, inner: inner, y: y)
        } else {
            oneView(&screen, s, q, view: active, inner: inner, y: y)
        }
    }

    /// "views (v): [scene] motion video": the active view named in every tier.
    func viewsLine(_ screen: inout Screen, _ s: ExplorerState, active: String, x: Int, y: Int, width: Int) {
        // The names matter more than the heading: on the narrowest pane the heading shrinks.
        let names = s.views.map(\.count).reduce(s.views.count + 1, +)
        let head = s.views.count == 1 ? "view: " : (11 + names <= width ? "views (v): " : "v: ")
        screen.text(x, y, head, .plain, maxWidth: width)
        var col = x + head.count
        for v in s.views {
            let text = v == active ? "[\(v)]" : v
            screen.text(col, y, text, Style(attrs: v == active ? [.bold] : [.dim]), maxWidth: x + width - col)
            col += text.count + 1
            if col >= x + width { break }
        }
    }

    /// One row per embedded clip: its norm in `view` as a bar, or where that view stands.
    /// Returns the next free row.
    func normList(_ screen: inout Screen, _ s: ExplorerState, view: String, inner: Rect, y y0: Int) -> Int {
        var y = y0
        let maxNorm = s.embedded.compactMap { $0.norm(view) }.max() ?? 1
        let labelWidth = min(18, inner.width / 2)
        let barWidth = max(4, inner.width - labelWidth - 8)
        let listRows = max(1, min(s.embedded.count, (inner.height - 2) / 3))
        let focusIndex = s.focusedEmbedding ?? s.embedded.count - 1
        let first = max(0, min(focusIndex - listRows + 1, s.embedded.count - listRows))
        for (i, e) in s.embedded.enumerated().dropFirst(first).prefix(listRows) {
            var style = Style()
            if i == focusIndex { style.attrs.insert(s.focus == .embeddings ? .reverse : .bold) }
            screen.text(inner.x, y, pad(s.label(e.clip, width: labelWidth), labelWidth), style, maxWidth: labelWidth)
            screen.hits.append(Hit(Rect(x: inner.x, y: y, width: inner.width, height: 1), .item(.embedded(i))))
            let x = inner.x + labelWidth + 1
            if let norm = e.norm(view) {
                screen.text(
                    x, y, bar(norm / max(maxNorm, 1e-6), width: barWidth, s.caps),
                    ArrowGrid.style(s.caps, c256: 75, c16: 6, attrs: []))
                screen.text(
                    x + barWidth + 1, y, String(format: "%.1f", norm), .plain, maxWidth: inner.maxX - (x + barWidth + 1)
                )
            } else {
                statusText(&screen, s, s.status(of: e, in: view), x: x, y: y, width: inner.maxX - x, lines: 1)
            }
            y += 1
        }
        return y
    }

    /// Where a view without a vector stands, on up to `lines` rows; returns the rows used.
    @discardableResult
    func statusText(
        _ screen: inout Screen, _ s: ExplorerState, _ status: ViewStatus, x: Int, y: Int, width: Int, lines: Int
    ) -> Int {
        let text: [String]
        var style = Style(attrs: [.dim])
        switch status {
        case .ready: return 0
        case .computing: text = [s.caps.unicode ? "computing…" : "computing..."]
        case .missing: text = ["not computed (cancelled)"]
        case .failed(let message):
            // One row (the norm list) says only that it failed; the neighbours say why.
            // The mark hangs: a message that starts with a long path breaks inside the path
            // rather than leaving the mark alone on its row.
            let why = wrap(lines == 1 ? "failed" : message, width: width - 2).prefix(lines)
            text = why.enumerated().map { ($0.offset == 0 ? (s.caps.unicode ? "✗ " : "x ") : "  ") + $0.element }
            style = Style(attrs: [.bold])
        }
        for (k, line) in text.enumerated() { screen.text(x, y + k, line, style, maxWidth: width) }
        return text.count
    }

    /// One neighbour: label, cosine bar, value, in `width` columns.
    func neighbourRow(
        _ screen: inout Screen, _ s: ExplorerState, _ n: EmbeddedClip, _ c: Float, x: Int, y: Int, width: Int
    ) {
        let labelWidth = min(18, width / 2)
        let barWidth = max(3, width - labelWidth - 8)
        screen.text(x, y, pad(s.label(n.clip, width: labelWidth), labelWidth), .plain, maxWidth: labelWidth)
        screen.hits.append(Hit(Rect(x: x, y: y, width: width, height: 1), .item(.neighbour(n.clip))))
        screen.text(
            x + labelWidth + 1, y, bar(max(0, c), width: barWidth, s.caps),
            ArrowGrid.style(s.caps, c256: 114, c16: 2, attrs: []))
        screen.text(x + labelWidth + 2 + barWidth, y, String(format: "%.2f", c), .plain, maxWidth: 6)
    }

    /// The lines under the neighbours: whether scene and motion agree, and the scene reliance.
    func verdictLines(_ s: ExplorerState, _ q: EmbeddedClip, view: String?, width: Int) -> [String] {
        var lines: [String] = []
        if let v = s.sceneMotionVerdict(of: q) { lines += s.verdictLines(v, width: width) }
        let measured = view.map { [$0] } ?? s.views
        if let v = measured.first(where: { q.sceneReliance[$0] != nil }), let rel = q.sceneReliance[v] {
            let verdict = rel > 0.9 ? "sees the scene" : (rel > 0.6 ? "scene and motion" : "follows motion")
            let prefix = view == nil ? "\(v) " : ""
            lines.append(prefix + String(format: "scene reliance %.2f: %@", rel, verdict))
        }
        return lines
    }

    /// The narrow pane: the neighbours in `view`, then the clip's and theirs as thumbnails.
    func oneView(_ screen: inout Screen, _ s: ExplorerState, _ q: EmbeddedClip, view: String, inner: Rect, y y0: Int) {
        var y = y0
        screen.text(
            inner.x, y, "\(view): nearest to \(s.label(q.clip, width: inner.width - view.count - 13))",
            Style(attrs: [.bold]), maxWidth: inner.width)
        y += 1
        let after = verdictLines(s, q, view: view, width: inner.width)
        let status = s.status(of: q, in: view)
        if status != .ready {
            y += statusText(&screen, s, status, x: inner.x, y: y, width: inner.width, lines: 3)
        }
        // Neighbours first; thumbnails only with the rows left over.
        let room = inner.maxY - y
        let neighbours = s.neighbours(of: q, in: view, count: max(1, min(5, room - after.count)))
        if neighbours.isEmpty && status == .ready {
            screen.text(inner.x, y, "embed more clips to compare", Style(attrs: [.dim]), maxWidth: inner.width)
            y += 1
        }
        for (n, c) in neighbours where y < inner.maxY {
            neighbourRow(&screen, s, n, c, x: inner.x, y: y, width: inner.width)
            y += 1
        }
        for line in after where y < inner.maxY {
            screen.text(inner.x, y, line, .plain, maxWidth: inner.width)
            y += 1
        }
        thumbnails(
            &screen, s, [q.clip] + neighbours.map(\.clip.clip), first: 0, x: inner.x, y: y, width: inner.width,
            maxY: inner.maxY, slots: min(4, neighbours.count + 1))
    }

    /// The wide pane: one column per view, each headed by its name, with its neighbours and
    /// their thumbnails; the verdict and the scene reliance under them.
    func sideBySide(_ screen: inout Screen, _ s: ExplorerState, _ q: EmbeddedClip, inner: Rect, y y0: Int) {
        var y = y0
        screen.text(
            inner.x, y, "nearest to \(s.label(q.clip, width: inner.width - 20)) (cosine):", Style(attrs: [.bold]),
            maxWidth: inner.width)
        y += 1
        let n = s.views.count
        let width = (inner.width - (n - 1)) / n
        let after = verdictLines(s, q, view: nil, width: inner.width)
        let rows = max(1, min(5, inner.maxY - y - 1 - after.count - 4))
        let top = y + 1
        var bottom = top
        for (k, view) in s.views.enumerated() {
            let x = inner.x + k * (width + 1)
            let active = view == s.activeViewName
            screen.text(x, y, active ? "[\(view)]" : view, Style(attrs: [.bold, .underline]), maxWidth: width)
            var row = top
            let status = s.status(of: q, in: view)
            let neighbours = s.neighbours(of: q, in: view, count: rows)
            if status != .ready {
                row += statusText(&screen, s, status, x: x, y: row, width: width, lines: 3)
            } else if neighbours.isEmpty {
                screen.text(x, row, "no other clip yet", Style(attrs: [.dim]), maxWidth: width)
                row += 1
            }
            for (nb, c) in neighbours where row < inner.maxY {
                neighbourRow(&screen, s, nb, c, x: x, y: row, width: width)
                row += 1
            }
            bottom = max(bottom, row)
        }
        y = bottom
        for line in after where y < inner.maxY {
            screen.text(inner.x, y, line, .plain, maxWidth: inner.width)
            y += 1
        }
        for (k, view) in s.views.enumerated() {
            let shown = s.neighbours(of: q, in: view, count: rows).map(\.clip.clip)
            // One picture height for every column (the focused clip's aspect), so their labels
            // share a row whatever each column's first neighbour is.
            thumbnails(
                &screen, s, shown, first: 1, x: inner.x + k * (width + 1), y: y, width: width, maxY: inner.maxY,
                slots: 2, aspectOf: q.clip)
        }
    }

    /// Thumbnails of `clips` side by side (first frame of each) in `slots` places of equal
    /// width, labelled `*` for the focused clip (when `first` is 0) and by rank for its
    /// neighbours. Their height follows the aspect of `aspectOf` (default: the first clip).
    func thumbnails(
        _ screen: inout Screen, _ s: ExplorerState, _ clips: [ClipRef], first: Int, x x0: Int, y: Int, width: Int,
        maxY: Int, slots: Int, aspectOf: ClipRef? = nil
    ) {
        let count = min(clips.count, slots)
        guard count > 0 else { return }
        let tw = min(16, (width - (slots - 1)) / slots)
        let aspect = s.videos[(aspectOf ?? clips[0]).video].info.map { Double($0.height) / Double($0.width) } ?? 0.75
        let th = min(maxY - y - 1, max(1, Int((Double(tw) * aspect / 2).rounded())))
        guard tw >= 4, th >= 2 else { return }
        for (k, c) in clips.prefix(count).enumerated() {
            let x = x0 + k * (tw + 1)
            if let view = frames(c.video, c.start) {
                // Pixel modes: one image per slot, its id from the slot's place (stable, unique).
                screen.picture(
                    view.image, x: x, y: y, columns: tw, rows: th, caps: s.caps, cell: s.cellPixels,
                    id: UInt32(1000 + y * 512 + x), key: "v\(c.video) f\(c.start)")
            } else {
                screen.text(x, y, "…", Style(attrs: [.dim]))
            }
            let rank = k + first
            if rank > 0 { screen.hits.append(Hit(Rect(x: x, y: y, width: tw, height: th + 1), .item(.neighbour(c)))) }
            screen.text(
                x, y + th, (rank == 0 ? "*" : "\(rank)") + s.label(c, width: tw - 1), Style(attrs: [.dim]),
                maxWidth: tw)
        }
    }
}
