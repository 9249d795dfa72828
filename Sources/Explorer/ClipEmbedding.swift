import Common
import Foundation
import VideoData

/// The model behind the `e` key, injected by the command line (the explorer does not know
/// about backbones or FFmpeg).
public protocol ClipEmbedding: AnyObject, Sendable {
    /// Shown in the embeddings pane: model, weights, and whether they are trained.
    var summary: String { get }

    /// Embeds `window` of the video at `path` and, when `still` is given, that frame repeated
    /// as a clip of the same length (a clip without motion). Called on a worker thread; stops
    /// early (throwing) once `isCancelled` returns true.
    func embed(path: String, window: ClipWindow, still: Int?, isCancelled: @escaping @Sendable () -> Bool) throws -> (
        clip: [Float], still: [Float]?
    )
}

/// Runs embedding jobs one clip at a time on a worker thread, so a job can be cancelled
/// between clips and results appear as they finish.
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
        let t = Thread { [self] in
            var done = 0
            var failure: String? = nil
            for (k, clip) in clips.enumerated() {
                if lock.withLock({ cancelled }) { break }
                do {
                    let window = ClipWindow(start: clip.start, frames: clip.length, stride: clip.stride)
                    let out = try embedding.embed(path: paths[k], window: window, still: stills[k]) { [self] in
                        lock.withLock { cancelled }
                    }
                    let reliance = out.still.map { cosine(out.clip, $0) }
                    inbox.post(.embeddedClip(EmbeddedClip(clip: clip, vector: out.clip, sceneReliance: reliance)))
                    done += 1
                    inbox.post(.embedProgress(done: done))
                } catch {
                    if !(error is CancellationError) && !lock.withLock({ cancelled }) { failure = "\(error)" }
                    break
                }
            }
            let wasCancelled = lock.withLock { cancelled }
            lock.withLock { running = false }
            inbox.post(.embedFinished(cancelled: wasCancelled && done < clips.count, error: failure))
        }
        t.name = "embed"
        t.start()
    }
}
