import Common
import Foundation
import VideoData

/// The model behind the `e` key, injected by the command line (the explorer does not know
/// about backbones or FFmpeg). It computes one or more named views of a clip: "scene" (CMD's
/// I-frame network on the keyframe), "motion" (its motion-vector network), "video" (the
/// backbone on RGB frames), or whatever the command line plugs in.
public protocol ClipEmbedding: AnyObject, Sendable {
    /// Shown in the embeddings pane: model, weights, and whether they are trained.
    var summary: String { get }

    /// The views this model computes, in the order the worker computes them: cheapest first,
    /// so the quick views of a clip appear while the expensive one still runs.
    var views: [String] { get }

    /// Embeds `window` of the video at `path` in `view` and, when `still` is given and the view
    /// measures scene reliance (only "video" does), that frame repeated as a clip of the same
    /// length (a clip without motion); other views return nil for it. Called on a worker
    /// thread; stops early (throwing) once `isCancelled` returns true. An error is one sentence
    /// about this view of this clip; the other views still run.
    func embed(
        path: String, window: ClipWindow, view: String, still: Int?, isCancelled: @escaping @Sendable () -> Bool
    ) throws -> (clip: [Float], still: [Float]?)
}

/// Runs embedding jobs one clip and one view at a time on a worker thread, so a job can be
/// cancelled between views and each result appears as it finishes (the cheap views of a clip
/// first).
final class EmbedWorker: @unchecked Sendable {
    private let embedding: ClipEmbedding
    private let inbox: Inbox
    private let lock = NSLock()
    private var cancelled = false
    private var running = false

    init(embedding: ClipEmbedding, inbox: Inbox) {
        self.embedding = embedding
        self.inbox = inbox
    }

    var isRunning: Bool { lock.withLock { running } }

    func cancel() { lock.withLock { cancelled = true } }

    /// `stills[i]` is the keyframe whose still clip measures the scene reliance of `clips[i]`.
    func start(clips: [ClipRef], paths: [String], stills: [Int?]) {
        lock.withLock {
            cancelled = false
            running = true
        }
        let views = embedding.views
        let t = Thread { [self] in
            let isCancelled: @Sendable () -> Bool = { [self] in lock.withLock { cancelled } }
            var done = 0
            clips: for (k, clip) in clips.enumerated() {
                let window = ClipWindow(start: clip.start, frames: clip.length, stride: clip.stride)
                for view in views {
                    if isCancelled() { break clips }
                    inbox.post(.embedStarted(clip: clip, view: view))
                    do {
                        let out = try embedding.embed(
                            path: paths[k], window: window, view: view, still: stills[k], isCancelled: isCancelled)
                        let reliance = out.still.map { cosine(out.clip, $0) }
                        inbox.post(.embeddedView(clip: clip, view: view, vector: out.clip, sceneReliance: reliance))
                    } catch {
                        // A cancelled view is not a failed one: it stops the job instead.
                        if error is CancellationError || isCancelled() { break clips }
                        inbox.post(.embedViewFailed(clip: clip, view: view, message: "\(error)"))
                    }
                }
                done += 1
                inbox.post(.embedProgress(done: done))
            }
            let wasCancelled = isCancelled()
            lock.withLock { running = false }
            inbox.post(.embedFinished(cancelled: wasCancelled && done < clips.count, error: nil))
        }
        t.name = "embed"
        t.start()
    }
}
