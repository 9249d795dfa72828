import Foundation

/// The model behind the `e` key, injected by the command line (the explorer does not know
/// about backbones or FFmpeg).
public protocol ClipEmbedding: AnyObject, Sendable {
    /// Shown in the embeddings pane: model, weights, and whether they are trained.
    var summary: String { get }

    /// Embeds clips of the video at `path`, each given as display indices (a still clip
    /// repeats one index). Called on a worker thread. Returns one vector per clip.
    func embed(path: String, clips: [[Int]]) throws -> [[Float]]
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
                    var lists = [clip.frames]
                    if let s = stills[k] { lists.append(Array(repeating: s, count: clip.length)) }
                    let vectors = try embedding.embed(path: paths[k], clips: lists)
                    let reliance = vectors.count > 1 ? cosine(vectors[0], vectors[1]) : nil
                    inbox.post(.embeddedClip(EmbeddedClip(clip: clip, vector: vectors[0], sceneReliance: reliance)))
                    done += 1
                    inbox.post(.embedProgress(done: done))
                } catch {
                    failure = "\(error)"
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
