import Common
import Embed
import Foundation
import MediaIO
import TestSupport
import Testing
import VideoData

/// `decouple embed` against the ModelScope pipeline itself: `CMDSSLVideoEmbeddingPipeline` of the
/// `modelscope` package (version in the fixture), run unmodified by
/// scripts/make_modelscope_fixture.sh on the bundled videos with a narrow R(2+1)D of seeded
/// weights (assets/fixtures/modelscope/).
@Suite("embed equals the real ModelScope pipeline (its own code, decord and Pillow)")
struct ModelScopeParityTests {
    static let directory = Paths.asset("fixtures/modelscope")

    struct Frame {
        var index: Int
        var decoded: String
        var cropped: String
    }

    struct Video {
        var path: String
        var frameCount: Int
        var starts: [Int]
        var frames: [Frame]
        var clips: [[Float]]
        var embedding: [Float]
    }

    static func reference() throws -> (config: String, weights: String, videos: [Video]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/reference.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let videos = (json["videos"] as! [[String: Any]]).map { v in
            Video(
                path: Paths.root + "/" + (v["path"] as! String), frameCount: v["frame_count"] as! Int,
                starts: v["clip_starts"] as! [Int],
                frames: (v["frames"] as! [[String: Any]]).map {
                    Frame(
                        index: $0["index"] as! Int, decoded: $0["decoded_sha256"] as! String,
                        cropped: $0["cropped_sha256"] as! String)
                },
                clips: (v["clip_embeddings"] as! [[Double]]).map { $0.map(Float.init) },
                embedding: (v["embedding"] as! [Double]).map(Float.init))
        }
        return (json["config"] as! String, Paths.root + "/" + (json["weights"] as! String), videos)
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        var h = SHA256()
        h.update(Data(bytes))
        return h.hexDigest()
    }

    @Test("the fixture covers a video with B-frames and one longer than the ten clips' span")
    func coverage() throws {
        let videos = try Self.reference().videos
        #expect(videos.count >= 2)
        let types = try videos.map { try FFmpegReference.frameTypes($0.path).map { $0.type } }
        #expect(types.contains { $0.contains("B") })
        // Longer than ten clips of 16 frames at stride 4 laid end to end: the clips do not overlap.
        #expect(videos.contains { $0.frameCount > (15 * 4 + 1) * 10 })
    }

    @Test("every decoded frame and every resized and cropped uint8 frame is bit-identical to the pipeline's")
    func frames() throws {
        for video in try Self.reference().videos {
            let source = try VideoClipSource(path: video.path, rgb: .modelscope)
            #expect(source.frameCount == video.frameCount)
            #expect(ClipSampler.modelScope(frameCount: source.frameCount).map(\.start) == video.starts, "\(video.path)")
            var decodedDiffer = 0
            var croppedDiffer = 0
            // Sixteen frames per request, in display order: each is decoded once.
            for start in stride(from: 0, to: video.frames.count, by: 16) {
                let chunk = video.frames[start..<min(start + 16, video.frames.count)]
                for (frame, image) in zip(chunk, try source.frames(at: chunk.map(\.index))) {
                    if Self.sha256(image.pixels) != frame.decoded { decodedDiffer += 1 }
                    if Self.sha256(Preprocessing.modelScope.resizeAndCrop(image).pixels) != frame.cropped {
                        croppedDiffer += 1
                    }
                }
            }
            #expect(
                decodedDiffer == 0, "\(video.path): \(decodedDiffer) of \(video.frames.count) decoded frames differ")
            #expect(croppedDiffer == 0, "\(video.path): \(croppedDiffer) of \(video.frames.count) crops differ")
        }
    }

    @Test(
        "decouple embed: every clip and the video's mean within 1e-5 of the pipeline's (largest difference over largest value)"
    )
    func embeddings() throws {
        let (config, weights, videos) = try Self.reference()
        for video in videos {
            // No model card beside the weights: embed takes the ModelScope pipeline's conversion itself.
            let perClip = try run(
                Paths.decouple, ["embed", video.path, "--weights", weights, "--config", config, "--per-clip"])
            #expect(perClip.status == 0, "\(perClip.stderr)")
            let rows = perClip.text.split(separator: "\n").map {
                try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
            #expect(rows.count == video.clips.count)
            for (i, (row, theirs)) in zip(rows, video.clips).enumerated() {
                let ours = (row["embedding"] as! [Double]).map(Float.init)
                let r = PipelineParityTests.relative(ours, theirs)
                #expect(r <= 1e-5, "\(video.path) clip \(i): relative difference \(r)")
            }
            let mean = try run(Paths.decouple, ["embed", video.path, "--weights", weights, "--config", config])
            let row = try #require(try JSONSerialization.jsonObject(with: mean.stdout) as? [String: Any])
            let r = PipelineParityTests.relative((row["embedding"] as! [Double]).map(Float.init), video.embedding)
            #expect(r <= 1e-5, "\(video.path) mean: relative difference \(r)")
        }
    }
}
