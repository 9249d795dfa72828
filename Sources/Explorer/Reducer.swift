import VideoData

/// What the state machine asks the app to do; the app runs it off the UI thread.
public enum Effect: Equatable, Sendable {
    /// Decode (or fetch from the cache) this frame so it can be shown.
    case showFrame(video: Int, index: Int)
    /// Embed these clips (and their keyframes as still clips) in the background.
    case embed([ClipRef])
    case cancelEmbedding
    case quit
}

/// What background workers report back to the UI thread.
public enum Event: Sendable {
    case opened(video: Int, info: VideoInfo)
    case openFailed(video: Int, message: String)
    /// The scan decoded more frames: marks for display indices `from..<from + marks.count`.
    case scanned(video: Int, from: Int, marks: [FrameMark], done: Bool)
    case scanFailed(video: Int, message: String)
    /// A frame landed in the cache (redraw).
    case frameReady(video: Int, index: Int)
    case frameFailed(video: Int, index: Int, message: String)
    /// `done` clips have every view computed (or failed).
    case embedProgress(done: Int)
    /// The worker began `view` of `clip` (views of a clip come in the model's order).
    case embedStarted(clip: ClipRef, view: String)
    case embeddedView(clip: ClipRef, view: String, vector: [Float], sceneReliance: Float?)
    /// One view of one clip failed; the job goes on with the others.
    case embedViewFailed(clip: ClipRef, view: String, message: String)
    /// `error`: the whole job could not run (no model).
    case embedFinished(cancelled: Bool, error: String?)
    /// The run loop's clock while playing (seconds, monotonic): playback decides the frame.
    case tick(now: Double)
}

extension ExplorerState {
    /// Applies one key. Pure: side effects come back as `Effect`s.
    public mutating func handle(_ key: Key) -> [Effect] {
        if case .resize(let w, let h) = key {
            width = w
            height = h
            return []
        }
        if key == .wait { return [] }
        if let prompt { return handlePrompt(prompt, key) }
        if help {
            // Any of the help keys, Esc or q closes the overlay; other keys are ignored.
            if [.char("?"), .function(1), .escape, .char("q")].contains(key) { help = false }
            return []
        }
        status = nil
        statusIsError = false
        if let pb = playback, stopsPlayback(key) { stopPlayback(pb, why: "Stopped") }
        switch key {
        case .interrupt:
            return requestQuit()
        case .char("q"):
            return requestQuit()
        case .char("?"), .function(1):
            help = true
        case .tab:
            focus = Pane.allCases[(Pane.allCases.firstIndex(of: focus)! + 1) % Pane.allCases.count]
        case .backTab:
            focus =
                Pane.allCases[(Pane.allCases.firstIndex(of: focus)! + Pane.allCases.count - 1) % Pane.allCases.count]
        case .char("."):
            return moveCursor(to: cursor + 1)
        case .char(","):
            return moveCursor(to: cursor - 1)
        case .right, .char("l"):
            return moveCursor(to: cursor + 1)
        case .left, .char("h"):
            return moveCursor(to: cursor - 1)
        case .up, .char("k"):
            return moveUp()
        case .down, .char("j"):
            return moveDown()
        case .pageUp:
            return moveCursor(to: cursor - 10 * max(1, clipStride))
        case .pageDown:
            return moveCursor(to: cursor + 10 * max(1, clipStride))
        case .shiftRight, .char("]"):
            return jumpKeyframe(forward: true)
        case .shiftLeft, .char("["):
            return jumpKeyframe(forward: false)
        case .char("g"), .home:
            return moveCursor(to: 0)
        case .char("G"), .end:
            return moveCursor(to: (video?.frameCount ?? 1) - 1)
        case .char(" "):
            toggleMark()
        case .char("e"):
            return embed()
        case .char("p"):
            return togglePlayback()
        case .char("("):
            changeSpeed(by: -1)
        case .char(")"):
            changeSpeed(by: 1)
        case .char("o"):
            motionOverlay.toggle()
            status = motionOverlay ? "Motion over the frame: on (o)" : "Motion over the frame: off (o)"
        case .mouse(let m):
            return handleMouse(m)
        case .char("c"), .escape:
            if job != nil, job?.cancelling == false {
                job?.cancelling = true
                status = "Cancelling: the view being computed finishes first"
                return [.cancelEmbedding]
            }
        case .char("n"):
            showNeighbours()
        case .char("v"):
            cycleView()
        case .char("/"):
            prompt = .find("")
        case .char("t"):
            cycleTier()
        case .char("i"):
            showKeyframe.toggle()
            return showEffects()
        case .char("m"):
            let all = ReferenceLists.allCases
            lists = all[(all.firstIndex(of: lists)! + 1) % all.count]
            status = "Motion vectors: " + listsLabel
        case .char("+"):
            vectorScale = (vectorScale ?? 4) * 2
        case .char("-"):
            vectorScale = max(0.25, (vectorScale ?? 4) / 2)
        case .char("="):
            vectorScale = nil
        case .char("{"):
            clipLength = max(2, clipLength - 4)
            status = "Clip window: \(clipLength) frames every \(clipStride)"
        case .char("}"):
            clipLength = min(64, clipLength + 4)
            status = "Clip window: \(clipLength) frames every \(clipStride)"
        case .char("<"):
            clipStride = max(1, clipStride - 1)
            status = "Clip window: \(clipLength) frames every \(clipStride)"
        case .char(">"):
            clipStride = min(16, clipStride + 1)
            status = "Clip window: \(clipLength) frames every \(clipStride)"
        case .enter:
            return activate()
        default:
            break
        }
        return []
    }

    var listsLabel: String {
        switch lists {
        case .both: return "P forward + B forward/backward (as motion)"
        case .list0: return "forward (list 0) only"
        case .list1: return "backward (list 1) only, as motion"
        }
    }

    /// Applies a worker's report.
    public mutating func apply(_ event: Event) -> [Effect] {
        switch event {
        case .opened(let v, let info):
            videos[v].info = info
            if !info.exportsMotionVectors {
                videos[v].error = nil
                if v == current {
                    setError("\(videos[v].name): codec \(info.codec) carries no motion vectors; frames only")
                }
            }
            if v == current { return [.showFrame(video: v, index: cursor)] }
        case .openFailed(let v, let message):
            videos[v].error = message
            setError(message)
            if v == current, let next = videos.indices.first(where: { videos[$0].error == nil && $0 != v }) {
                return switchVideo(to: next)
            }
        case .scanned(let v, let from, let marks, let done):
            if videos[v].marks.count < from + marks.count {
                videos[v].marks.append(
                    contentsOf: Array(
                        repeating: FrameMark(type: .other, key: false, coverage: 0, meanLength: 0),
                        count: from + marks.count - videos[v].marks.count))
            }
            videos[v].marks.replaceSubrange(from..<(from + marks.count), with: marks)
            videos[v].scanDone = done
        case .scanFailed(let v, let message):
            videos[v].scanDone = true
            setError("\(videos[v].name): scan stopped: \(message)")
        case .frameReady(let v, let index):
            return playbackFrameLanded(video: v, index: index)
        case .frameFailed(let v, let index, let message):
            if let pb = playback, v == current, pb.pending == index { stopPlayback(pb, why: "Stopped") }
            setError("\(videos[v].name) frame \(index): \(message)")
        case .tick(let now):
            return tick(now: now)
        case .embedProgress(let done):
            job?.done = done
        case .embedStarted(let clip, let view):
            job?.view = view
            // The clip shows up at once, its views "computing…"; a view computed again forgets
            // its old result until the new one arrives.
            let i = embeddedIndex(clip)
            embedded[i].vectors[view] = nil
            embedded[i].sceneReliance[view] = nil
            embedded[i].errors[view] = nil
        case .embeddedView(let clip, let view, let vector, let reliance):
            let i = embeddedIndex(clip)
            embedded[i].vectors[view] = vector
            embedded[i].sceneReliance[view] = reliance
            marked.removeAll { $0 == clip }
            job?.succeeded += 1
        case .embedViewFailed(let clip, let view, let message):
            embedded[embeddedIndex(clip)].errors[view] = message
            job?.failures.append("\(view): \(message)")
        case .embedFinished(let cancelled, let error):
            let n = job?.done ?? 0
            let succeeded = job?.succeeded ?? 0
            let failures = job?.failures ?? []
            job = nil
            // Clips cancelled before any view finished leave nothing to show.
            embedded.removeAll { $0.vectors.isEmpty && $0.errors.isEmpty }
            if focusedEmbedding.map({ $0 >= embedded.count }) == true { focusedEmbedding = nil }
            let clips = "\(n) clip\(n == 1 ? "" : "s")"
            if let error {
                setError("Embedding failed: \(error)")
            } else if let first = failures.first, succeeded == 0, !cancelled {
                setError("Embedding failed: \(first)")
            } else if let first = failures.first {
                let more = failures.count > 1 ? " (and \(failures.count - 1) more)" : ""
                setError("\(cancelled ? "Embedding cancelled after" : "Embedded") \(clips); \(first)\(more)")
            } else {
                status = cancelled ? "Embedding cancelled after \(clips)" : "Embedded \(clips)"
            }
            if prompt == .confirmQuit && cancelled {
                prompt = nil
                quit = true
                return [.quit]
            }
        }
        return []
    }

    /// The entry of `clip` in `embedded`, appended when it is new.
    mutating func embeddedIndex(_ clip: ClipRef) -> Int {
        if let i = embedded.firstIndex(where: { $0.clip == clip }) { return i }
        embedded.append(EmbeddedClip(clip: clip))
        return embedded.count - 1
    }

    mutating func setError(_ message: String) {
        status = message
        statusIsError = true
    }

    mutating func requestQuit() -> [Effect] {
        if job != nil {
            prompt = .confirmQuit
            return []
        }
        quit = true
        return [.quit]
    }

    mutating func handlePrompt(_ p: Prompt, _ key: Key) -> [Effect] {
        switch p {
        case .confirmQuit:
            if key == .char("y") || key == .char("Y") || key == .interrupt {
                // Cancel first; the app quits once the worker has stopped.
                prompt = nil
                quit = true
                return [.cancelEmbedding, .quit]
            }
            if key == .char("n") || key == .char("N") || key == .escape { prompt = nil }
            return []
        case .find(let text):
            switch key {
            case .escape:
                prompt = nil
            case .enter:
                prompt = nil
                let needle = text.lowercased()
                if let i = videos.indices.first(where: { videos[$0].name.lowercased().contains(needle) }) {
                    clipsRow = i
                    return switchVideo(to: i)
                }
                setError("No video matches '\(text)'")
            case .backspace:
                prompt = .find(String(text.dropLast()))
            case .char(let c):
                prompt = .find(text + String(c))
            default:
                break
            }
            return []
        }
    }

    mutating func moveCursor(to index: Int) -> [Effect] {
        guard let v = video, v.usable else { return [] }
        let clamped = min(max(0, index), max(0, v.frameCount - 1))
        cursor = clamped
        return showEffects()
    }

    func showEffects() -> [Effect] {
        guard let v = video, v.usable else { return [] }
        var effects: [Effect] = [.showFrame(video: current, index: cursor)]
        if showKeyframe, let k = keyframe(atOrBefore: cursor), k != cursor {
            effects.append(.showFrame(video: current, index: k))
        }
        return effects
    }

    /// The I-frame at or before `index` (from the scan; key packets until it is done).
    public func keyframe(atOrBefore index: Int) -> Int? {
        guard let v = video else { return nil }
        if index < v.marks.count, let i = (0...index).last(where: { v.marks[$0].type == .i }) { return i }
        return v.info?.keyFrameIndices.last { $0 <= index }
    }

    func keyframes() -> [Int] {
        guard let v = video else { return [] }
        let fromScan = v.marks.indices.filter { v.marks[$0].type == .i }
        return v.scanDone || fromScan.count > (v.info?.keyFrameIndices.count ?? 0)
            ? fromScan : (v.info?.keyFrameIndices ?? [])
    }

    mutating func jumpKeyframe(forward: Bool) -> [Effect] {
        let ks = keyframes()
        let target = forward ? ks.first { $0 > cursor } : ks.last { $0 < cursor }
        guard let target else {
            status = forward ? "No later keyframe" : "No earlier keyframe"
            return []
        }
        return moveCursor(to: target)
    }

    mutating func moveUp() -> [Effect] {
        switch focus {
        case .video: return moveCursor(to: cursor - 10)
        case .clips: clipsRow = max(0, clipsRow - 1)
        case .embeddings:
            if !embedded.isEmpty { focusedEmbedding = max(0, (focusedEmbedding ?? embedded.count - 1) - 1) }
        }
        return []
    }

    mutating func moveDown() -> [Effect] {
        switch focus {
        case .video: return moveCursor(to: cursor + 10)
        case .clips: clipsRow = min(max(0, videos.count - 1), clipsRow + 1)
        case .embeddings:
            if !embedded.isEmpty {
                focusedEmbedding = min(embedded.count - 1, (focusedEmbedding ?? embedded.count - 1) + 1)
            }
        }
        return []
    }

    mutating func activate() -> [Effect] {
        switch focus {
        case .clips:
            return switchVideo(to: clipsRow)
        case .embeddings:
            guard let clip = focusedClip?.clip else { return [] }
            var effects = switchVideo(to: clip.video)
            effects += moveCursor(to: clip.start)
            return effects
        case .video:
            return []
        }
    }

    mutating func switchVideo(to index: Int) -> [Effect] {
        guard videos.indices.contains(index) else { return [] }
        if let e = videos[index].error {
            setError(e)
            return []
        }
        if let pb = playback { stopPlayback(pb, why: "Stopped") }
        videos[current].cursor = cursor
        current = index
        clipsRow = index
        cursor = videos[index].cursor
        return videos[index].usable ? showEffects() : []
    }

    mutating func toggleMark() {
        guard let v = video, v.usable else { return }
        let w = windowAtCursor
        if let i = marked.firstIndex(of: w) {
            marked.remove(at: i)
            status = "Unmarked \(label(w))"
        } else if w.last >= v.frameCount {
            setError(
                "A window of \(w.length) frames every \(w.stride) needs \(w.last - w.start + 1) frames from \(w.start); \(v.name) has \(v.frameCount)"
            )
        } else {
            marked.append(w)
            status = "Marked \(label(w)); e embeds the \(marked.count) marked window\(marked.count == 1 ? "" : "s")"
        }
    }

    mutating func embed() -> [Effect] {
        if job != nil {
            setError("Already embedding; c or Esc cancels")
            return []
        }
        var clips = marked
        if clips.isEmpty {
            guard let v = video, v.usable else { return [] }
            let w = windowAtCursor
            guard w.last < v.frameCount else {
                setError(
                    "The window at the cursor runs past the end of \(v.name) (\(w.last + 1) > \(v.frameCount) frames)")
                return []
            }
            clips = [w]
        }
        job = EmbedJob(total: clips.count, startedAt: 0)
        status = "Embedding \(clips.count) clip\(clips.count == 1 ? "" : "s")"
        return [.embed(clips)]
    }

    mutating func showNeighbours() {
        guard !embedded.isEmpty else {
            setError("No embedded clips yet: Space marks windows, e embeds them")
            return
        }
        // The clip covering the cursor if there is one, else keep the current focus.
        if let i = embedded.lastIndex(where: { $0.clip.video == current && $0.clip.covers(cursor) }) {
            focusedEmbedding = i
        }
        focus = .embeddings
    }

    mutating func cycleView() {
        guard views.count > 1 else {
            setError(views.isEmpty ? "No views: there is no model" : "The model computes one view: \(views[0])")
            return
        }
        activeView = (activeView + 1) % views.count
        status = "View: \(views[activeView]) (v cycles \(views.joined(separator: ", ")))"
    }

    mutating func cycleTier() {
        caps = caps.next(within: maxCaps)
        status = "Thumbnails: \(caps.tier.rawValue)"
    }

    /// "tears_320x240 0-60" style label of a clip; with `width`, the name is shortened (never
    /// the frame range) to fit.
    public func label(_ c: ClipRef, width: Int? = nil) -> String {
        let name = videos.indices.contains(c.video) ? videos[c.video].name : "?"
        var stem = name.split(separator: ".").dropLast().joined(separator: ".")
        if stem.isEmpty { stem = name }
        let range = " \(c.start)-\(c.last)"
        if let width, stem.count + range.count > width {
            let keep = max(1, width - range.count - 1)
            stem = String(stem.prefix(keep)) + "…"
        }
        return stem + range
    }
}
