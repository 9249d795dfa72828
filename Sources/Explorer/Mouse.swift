/// Mouse input as pure values. The curses adapter turns a click or wheel turn into
/// `Key.mouse` with its cell; the app looks the cell up in the hit areas the renderer recorded
/// on the last screen (the renderer is the one that knows where it drew each row), so the
/// reducer gets what was clicked, not a coordinate it would have to lay out again.
public enum MouseButton: Hashable, Sendable {
    case left, wheelUp, wheelDown
}

/// What a click can land on.
public enum HitTarget: Hashable, Sendable {
    /// A column of the timeline or the motion-energy strip: that frame of the current video.
    case frame(Int)
    /// A video's row in the clips pane.
    case video(Int)
    /// An embedded clip's row (clips pane, or the embeddings pane's norm list): index into
    /// `ExplorerState.embedded`.
    case embedded(Int)
    /// A nearest neighbour's row or thumbnail in the embeddings pane.
    case neighbour(ClipRef)
}

public struct MouseEvent: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public var button: MouseButton
    /// Filled in from the last screen's hit areas before the reducer sees the event.
    public var target: HitTarget?

    public init(x: Int, y: Int, button: MouseButton, target: HitTarget? = nil) {
        self.x = x
        self.y = y
        self.button = button
        self.target = target
    }
}

/// A rectangle of the screen and what clicking it means.
public struct Hit: Equatable, Sendable {
    public enum Area: Equatable, Sendable {
        /// Columns map to frames `0..<frames` as the timeline draws them.
        case timeline(frames: Int)
        case item(HitTarget)
    }

    public var rect: Rect
    public var area: Area

    public init(_ rect: Rect, _ area: Area) {
        self.rect = rect
        self.area = area
    }
}

extension Screen {
    /// What a click at (x, y) selects; the area recorded last wins (it was drawn on top).
    public func target(atX x: Int, y: Int) -> HitTarget? {
        for hit in hits.reversed() where x >= hit.rect.x && x < hit.rect.maxX && y >= hit.rect.y && y < hit.rect.maxY {
            switch hit.area {
            case .item(let t): return t
            case .timeline(let n):
                // The inverse of the timeline's `frame * width / frames`: the first frame of the column.
                guard n > 0, hit.rect.width > 0 else { return nil }
                let c = x - hit.rect.x
                return .frame(min(n - 1, (c * n + hit.rect.width - 1) / hit.rect.width))
            }
        }
        return nil
    }
}

extension ExplorerState {
    /// A click selects what it lands on; the wheel steps frames (and so stops playback).
    mutating func handleMouse(_ m: MouseEvent) -> [Effect] {
        switch m.button {
        case .wheelUp, .wheelDown:
            if let pb = playback { stopPlayback(pb, why: "Stopped") }
            return moveCursor(to: cursor + (m.button == .wheelDown ? 1 : -1))
        case .left:
            guard let target = m.target else { return [] }
            switch target {
            case .frame(let i):
                if let pb = playback { stopPlayback(pb, why: "Stopped") }
                focus = .video
                return moveCursor(to: i)
            case .video(let i):
                focus = .clips
                clipsRow = i
                return i == current ? [] : switchVideo(to: i)
            case .embedded(let i):
                guard embedded.indices.contains(i) else { return [] }
                focus = .embeddings
                focusedEmbedding = i
            case .neighbour(let clip):
                guard let i = embedded.firstIndex(where: { $0.clip == clip }) else { return [] }
                focus = .embeddings
                focusedEmbedding = i
            }
        }
        return []
    }
}
