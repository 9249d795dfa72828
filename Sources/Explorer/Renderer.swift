import Foundation
import VideoData

/// Draws an `ExplorerState` into a `Screen`. Pure: frames come from `frames`, nothing else.
public struct Renderer {
    public var frames: (_ video: Int, _ index: Int) -> FrameView?

    public init(frames: @escaping (_ video: Int, _ index: Int) -> FrameView?) { self.frames = frames }

    public func render(_ s: ExplorerState) -> Screen {
        var screen = Screen(width: s.width, height: s.height)
        if s.tooSmall {
            screen.text(
                0, 0,
                "Terminal too small: \(s.width)x\(s.height), need \(ExplorerState.minimumWidth)x\(ExplorerState.minimumHeight)",
                Style(attrs: [.bold]))
            return screen
        }
        let layout = Layout(
            width: s.width, height: s.height, videoWidth: s.video?.info?.width, videoHeight: s.video?.info?.height,
            overlay: s.motionOverlay)
        header(&screen, s, layout.header)
        timeline(&screen, s, layout.timeline)
        energyStrip(&screen, s, layout.strip)
        framePane(&screen, s, layout)
        motionPane(&screen, s, layout)
        clipsPane(&screen, s, layout.clips)
        embeddingsPane(&screen, s, layout.embeddings)
        statusBar(&screen, s, layout.status)
        if s.help {
            // Images would cover the help text; the adapter clears what is no longer placed.
            screen.images = []
            helpOverlay(&screen, s)
        }
        return screen
    }

    var u: (ExplorerState) -> Bool { { $0.caps.unicode } }

    // MARK: - Header and timeline

    func header(_ screen: inout Screen, _ s: ExplorerState, _ r: Rect) {
        let bar = Style(attrs: [.reverse])
        screen.fill(r, Cell(" ", bar))
        var parts = ["decouple"]
        if let v = s.video {
            parts.append(v.name)
            if let info = v.info {
                parts.append("\(info.codec) \(info.width)x\(info.height) \(String(format: "%.2f", info.fps)) fps")
                let n = info.frameCount
                parts.append("frame \(s.cursor)/\(n)")
                let view = frames(s.current, s.cursor)
                let t = view?.info.time ?? (info.fps > 0 ? Double(s.cursor) / info.fps : 0)
                parts.append(timeString(t))
                let type = view?.info.pictureType ?? (s.cursor < v.marks.count ? v.marks[s.cursor].type : .other)
                let key = view?.info.isKey ?? (s.cursor < v.marks.count && v.marks[s.cursor].key)
                parts.append(type == .other ? "?" : type.rawValue + (key ? " (key)" : ""))
                if let k = s.keyframe(atOrBefore: s.cursor) {
                    let next = nextKeyframe(s, after: s.cursor) ?? n
                    parts.append("GOP +\(s.cursor - k) of \(next - k) (I@\(k))")
                }
            } else if let e = v.error {
                parts.append(e)
            } else {
                parts.append("opening…")
            }
        }
        screen.text(r.x, r.y, " " + parts.joined(separator: sep(s)), bar, maxWidth: r.width)
    }

    func sep(_ s: ExplorerState) -> String { s.caps.unicode ? " │ " : " | " }

    func timeString(_ t: Double) -> String {
        let ms = Int((t * 1000).rounded())
        return String(format: "%d:%02d.%03d", ms / 60000, ms / 1000 % 60, ms % 1000)
    }

    func nextKeyframe(_ s: ExplorerState, after i: Int) -> Int? {
        guard let v = s.video else { return nil }
        if let k = v.marks.indices.first(where: { $0 > i && v.marks[$0].type == .i }) { return k }
        return v.scanDone ? nil : v.info?.keyFrameIndices.first { $0 > i }
    }

    func timeline(_ screen: inout Screen, _ s: ExplorerState, _ r: Rect) {
        guard let v = s.video, let info = v.info, info.frameCount > 0 else { return }
        let n = info.frameCount
        let w = r.width
        let column = { (frame: Int) -> Int in frame * w / n }
        for c in 0..<w {
            let lo = c * n / w
            let hi = max(lo + 1, (c + 1) * n / w)
            var best: PictureType? = nil
            for f in lo..<min(hi, n) where f < v.marks.count {
                let t = v.marks[f].type
                if t == .i || best == nil || (t == .p && best == .b) { best = t }
            }
            screen[r.x + c, r.y] = typeCell(best, s.caps)
        }
        // Second row: embedded windows, marked windows, the window at the cursor, the cursor.
        let u = s.caps.unicode
        for e in s.embedded where e.clip.video == s.current && !e.vectors.isEmpty {
            for c in column(e.clip.start)...min(w - 1, column(e.clip.last)) {
                screen[r.x + c, r.y + 1] = Cell(u ? "█" : "#", ArrowGrid.style(s.caps, c256: 75, c16: 6, attrs: []))
            }
        }
        for m in s.marked where m.video == s.current {
            for c in column(m.start)...min(w - 1, column(m.last)) {
                screen[r.x + c, r.y + 1] = Cell(u ? "▬" : "=", ArrowGrid.style(s.caps, c256: 220, c16: 3, attrs: []))
            }
        }
        let win = s.windowAtCursor
        for c in column(win.start)...min(w - 1, column(min(win.last, n - 1))) {
            screen[r.x + c, r.y + 1] = Cell(u ? "─" : "-", Style(attrs: [.bold]))
        }
        screen[r.x + column(s.cursor), r.y + 1] = Cell(u ? "▲" : "^", Style(attrs: [.bold]))
        screen.hits.append(Hit(r, .timeline(frames: n)))
    }

    func typeCell(_ t: PictureType?, _ caps: Capabilities) -> Cell {
        switch t {
        case .i?: return Cell("I", ArrowGrid.style(caps, c256: 196, c16: 1, attrs: [.bold]))
        case .p?: return Cell("P", ArrowGrid.style(caps, c256: 41, c16: 2, attrs: []))
        case .b?: return Cell("B", ArrowGrid.style(caps, c256: 33, c16: 4, attrs: []))
        case .other?: return Cell("?")
        case nil: return Cell(caps.unicode ? "·" : ".", Style(attrs: [.dim]))
        }
    }

    // MARK: - Frame and motion panes

    func framePane(_ screen: inout Screen, _ s: ExplorerState, _ layout: Layout) {
        let r = layout.frame
        let shownIndex = s.showKeyframe ? (s.keyframe(atOrBefore: s.cursor) ?? s.cursor) : s.cursor
        screen.box(r, title: s.showKeyframe ? "Keyframe" : "Frame", focused: s.focus == .video, unicode: s.caps.unicode)
        let inner = r.inner
        guard let v = s.video else { return }
        guard let info = v.info else {
            screen.text(
                inner.x, inner.y, v.error ?? "Opening \(v.name)…", Style(attrs: v.error == nil ? [] : [.bold]),
                maxWidth: inner.width)
            return
        }
        let size = layout.imageSize(videoWidth: info.width, videoHeight: info.height)
        let x0 = inner.x + (inner.width - size.columns) / 2
        guard let view = frames(s.current, shownIndex) else {
            screen.text(inner.x, inner.y, "decoding frame \(shownIndex)…", Style(attrs: [.dim]), maxWidth: inner.width)
            return
        }
        framePicture(&screen, s, view, info: info, x: x0, y: inner.y, size: size)
        let y = inner.y + size.rows
        let f = view.info
        let what = s.showKeyframe ? "keyframe \(f.index) for frame \(s.cursor)" : "frame \(f.index)"
        screen.text(
            inner.x, y,
            "\(what)  \(f.pictureType.rawValue)\(f.isKey ? " key" : "")  \(bytes(f.packetSize))  \(timeString(f.time))",
            .plain, maxWidth: inner.width)
        screen.text(
            inner.x, y + 1,
            "\(s.caps.tier.rawValue)  (t: mode, i: keyframe, o: motion \(s.motionOverlay ? "on" : "off"))",
            Style(attrs: [.dim]), maxWidth: inner.width)
    }

    /// The frame's own vectors over its picture, scaled as the motion pane scales them.
    func overlay(_ picture: Screen, _ view: FrameView, _ info: VideoInfo, _ s: ExplorerState) -> Screen {
        let field = MotionField(
            vectors: view.vectors, frameWidth: info.width, frameHeight: info.height, cellSize: 8, lists: s.lists)
        let grid = MotionOverlay.grid(field, columns: picture.width, rows: picture.height)
        let scale = s.vectorScale ?? ArrowGrid.autoScale(grid)
        return MotionOverlay.draw(grid, scale: scale, over: picture, caps: s.caps)
    }

    func bytes(_ n: Int) -> String { n >= 1000 ? String(format: "%.1f KB", Double(n) / 1000) : "\(n) B" }

    func motionPane(_ screen: inout Screen, _ s: ExplorerState, _ layout: Layout) {
        let r = layout.motion
        screen.box(r, title: "Motion", focused: s.focus == .video, unicode: s.caps.unicode)
        let inner = r.inner
        guard let v = s.video, let info = v.info else { return }
        if !info.exportsMotionVectors {
            screen.text(
                inner.x, inner.y, "codec \(info.codec) exports no motion vectors", Style(attrs: [.bold]),
                maxWidth: inner.width)
            return
        }
        guard let view = frames(s.current, s.cursor) else {
            screen.text(inner.x, inner.y, "decoding frame \(s.cursor)…", Style(attrs: [.dim]), maxWidth: inner.width)
            return
        }
        let field = MotionField(
            vectors: view.vectors, frameWidth: info.width, frameHeight: info.height, cellSize: 8, lists: s.lists)
        var y = inner.y
        let scale: Float
        if let size = layout.gridSize(videoWidth: info.width, videoHeight: info.height) {
            let x0 = inner.x + (inner.width - size.columns) / 2
            let grid = MotionGrid(field: field, columns: size.columns, rows: size.rows)
            scale = s.vectorScale ?? ArrowGrid.autoScale(grid)
            screen.blit(ArrowGrid.render(grid, scale: scale, caps: s.caps), x: x0, y: inner.y)
            y += size.rows
        } else {
            // No room for the grid (the overlay has the arrows): the figures only, at the
            // overlay's scale.
            let picture = layout.imageSize(videoWidth: info.width, videoHeight: info.height)
            scale =
                s.vectorScale
                ?? ArrowGrid.autoScale(MotionOverlay.grid(field, columns: picture.columns, rows: picture.rows))
        }
        let m = view.summary
        if view.vectors.isEmpty {
            let why =
                view.info.pictureType == .i
                ? "I-frame: intra-coded, no motion vectors" : "no vectors: every block is intra-coded"
            screen.text(inner.x, y, why, .plain, maxWidth: inner.width)
        } else {
            screen.text(
                inner.x, y,
                String(
                    format: "mean %.2f px  cover %.0f%%  intra %.0f%%", fieldMeanLength(field), m.coverage * 100,
                    m.intraShare * 100), .plain, maxWidth: inner.width)
        }
        screen.text(
            inner.x, y + 1,
            String(
                format: "scale %@ px%@  lists %@ (m)", trim(scale), s.vectorScale == nil ? " (auto)" : "",
                s.lists.rawValue), Style(attrs: [.dim]), maxWidth: inner.width)
        let legend =
            s.caps.unicode ? "· still  ▪ intra  * mixed  ⇒ > 2x scale" : ". still  # intra  * mixed  bold > 2x scale"
        screen.text(inner.x, y + 2, legend, Style(attrs: [.dim]), maxWidth: inner.width)
    }

    /// Mean forward-motion length over covered cells (the same quantity the arrows show).
    func fieldMeanLength(_ f: MotionField) -> Float {
        var sum: Float = 0
        var n = 0
        for i in 0..<f.mask.count where f.mask[i] != 0 {
            sum += (f.dx[i] * f.dx[i] + f.dy[i] * f.dy[i]).squareRoot()
            n += 1
        }
        return n > 0 ? sum / Float(n) : 0
    }

    func trim(_ x: Float) -> String {
        x >= 10 || x == x.rounded() ? String(format: "%.0f", x) : String(format: "%.1f", x)
    }

    // MARK: - Clips and embeddings

    func clipsPane(_ screen: inout Screen, _ s: ExplorerState, _ r: Rect) {
        screen.box(r, title: "Clips", focused: s.focus == .clips, unicode: s.caps.unicode)
        let inner = r.inner
        var lines: [(String, Style, HitTarget?)] = []
        for (i, v) in s.videos.enumerated() {
            let mark = i == s.current ? (s.caps.unicode ? "●" : "*") : " "
            var style = Style()
            if s.focus == .clips && i == s.clipsRow { style.attrs.insert(.reverse) }
            var text = "\(mark) \(v.name)"
            if let e = v.error {
                text += "  ✗ " + e
                style.attrs.insert(.dim)
                if !s.caps.unicode { text = text.replacingOccurrences(of: "✗", with: "x") }
            } else if let info = v.info {
                text +=
                    "  \(info.frameCount)f"
                    + (v.scanDone || v.marks.count >= info.frameCount
                        ? "" : " scan \(v.marks.count * 100 / max(1, info.frameCount))%")
            }
            lines.append((text, style, .video(i)))
            if i == s.current {
                for m in s.marked where m.video == i {
                    lines.append(("   [x] \(m.start)-\(m.last) marked", Style(), .frame(m.start)))
                }
                for (k, e) in s.embedded.enumerated() where e.clip.video == i && !e.vectors.isEmpty {
                    lines.append(("   [e] \(e.clip.start)-\(e.clip.last) embedded", Style(), .embedded(k)))
                }
            }
        }
        let w = s.windowAtCursor
        lines.append(("window \(w.length)x\(w.stride): \(w.start)-\(w.last)  Space marks", Style(attrs: [.dim]), nil))
        // Keep the selected row visible.
        let visible = inner.height
        let selectedLine = min(lines.count - 1, s.clipsRow)
        let first = max(0, min(selectedLine - visible + 1, lines.count - visible))
        for (k, line) in lines.dropFirst(first).prefix(visible).enumerated() {
            screen.text(inner.x, inner.y + k, line.0, line.1, maxWidth: inner.width)
            if let t = line.2 {
                screen.hits.append(Hit(Rect(x: inner.x, y: inner.y + k, width: inner.width, height: 1), .item(t)))
            }
        }
    }

    /// Splits `text` into lines of at most `width`, at ", " or spaces where possible.
    func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var rest = Substring(text)
        while rest.count > width, width > 8 {
            let head = rest.prefix(width)
            let cut =
                head.range(of: ", ", options: .backwards).map { $0.upperBound }
                ?? head.lastIndex(of: " ").map { head.index(after: $0) } ?? head.endIndex
            lines.append(String(rest[..<cut]).trimmingCharacters(in: .whitespaces))
            rest = rest[cut...]
        }
        lines.append(String(rest))
        return lines
    }

    func pad(_ s: String, _ w: Int) -> String {
        s.count >= w ? String(s.prefix(w)) : s + String(repeating: " ", count: w - s.count)
    }

    /// A horizontal bar of `fraction` (0...1) in eighths (Unicode) or `#` (ASCII).
    func bar(_ fraction: Float, width: Int, _ caps: Capabilities) -> String {
        let f = min(1, max(0, fraction))
        if !caps.unicode { return String(repeating: "#", count: Int((f * Float(width)).rounded())) }
        let eighths = Int((f * Float(width * 8)).rounded())
        let parts = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        return String(repeating: "█", count: eighths / 8) + parts[eighths % 8]
    }

    // MARK: - Status and help

    func statusBar(_ screen: inout Screen, _ s: ExplorerState, _ r: Rect) {
        let bar = Style(attrs: [.reverse])
        screen.fill(r, Cell(" ", bar))
        var left: String
        var style = bar
        switch s.prompt {
        case .find(let text)?:
            left = "/" + text + (s.caps.unicode ? "▏" : "_") + "   Enter opens the first matching video, Esc cancels"
        case .confirmQuit?:
            left = "Embedding is running. Quit anyway? (y/n)"
            style.attrs.insert(.bold)
        case nil:
            if let job = s.job {
                let width = 20
                let filled = job.total > 0 ? job.done * width / job.total : 0
                let b = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                left =
                    "[\(b)] embedding clip \(min(job.done + 1, job.total))/\(job.total)"
                    + (job.view.map { ": \($0)" } ?? "") + (job.cancelling ? "  cancelling…" : "  c cancels")
            } else if let msg = s.status {
                left = msg
                if s.statusIsError { style.attrs.insert(.bold) }
            } else {
                // As many hints as fit, most important first.
                left = ""
                for hint in Self.hints where left.count + hint.count + 2 <= r.width - s.caps.tier.rawValue.count - 4 {
                    left += (left.isEmpty ? "" : "  ") + hint
                }
            }
        }
        var right = " \(s.caps.tier.rawValue) "
        if let play = s.playbackLabel { right = " \(play)  " + right }
        screen.text(r.x, r.y, " " + left, style, maxWidth: r.width - right.count)
        if r.width > right.count + 20 { screen.text(r.maxX - right.count, r.y, right, bar) }
    }

    static let hints = [
        "?:help", "q:quit", "p:play", ".,:step", "[]:keyframe", "o:overlay", "Space:mark", "e:embed", "n:neighbours",
        "Tab:pane", "t:mode", "+-:scale", "v:view",
    ]

    static let helpLines: [String] = [
        "Frames      . , or Left Right (h l)   step one frame",
        "            Up Down (k j)             ten frames (video pane)",
        "            [ ] or Shift+Left/Right   previous / next keyframe",
        "            g G                       first / last frame",
        "            i                         show the keyframe instead",
        "            p                         play / pause (any step stops)",
        "            ( )                       slower / faster: 0.25x to 4x",
        "            mouse                     click timeline, video, clip; wheel steps",
        "Panes       Tab / Shift+Tab           move focus",
        "            Up Down, Enter            pick a video / an embedded clip",
        "            /                         find a video by name",
        "Clips       Space                     mark the window at the cursor",
        "            { }  < >                  window length / stride",
        "            e                         embed marked windows (or the one here)",
        "            c or Esc                  cancel embedding",
        "            n                         neighbours of the clip here",
        "            v                         next embedding view (scene, motion, video)",
        "Display     t                         picture mode (pixels, mosaics, colours)",
        "            + - =                     vector scale up / down / auto",
        "            m                         motion lists: both / forward / backward",
        "            o                         motion drawn over the frame",
        "            ? or F1                   this help      q  quit",
    ]

    func helpOverlay(_ screen: inout Screen, _ s: ExplorerState) {
        let lines = Self.helpLines
        let w = min(s.width - 4, (lines.map(\.count).max() ?? 40) + 4)
        let h = min(s.height - 2, lines.count + 4)
        let r = Rect(x: (s.width - w) / 2, y: (s.height - h) / 2, width: w, height: h)
        screen.fill(r)
        screen.box(r, title: "Help: keys", focused: true, unicode: s.caps.unicode)
        for (i, line) in lines.prefix(h - 4).enumerated() {
            screen.text(r.x + 2, r.y + 2 + i, line, .plain, maxWidth: w - 4)
        }
        screen.text(r.x + 2, r.maxY - 2, "? Esc or q closes", Style(attrs: [.dim]), maxWidth: w - 4)
    }
}
