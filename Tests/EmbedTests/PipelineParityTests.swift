import Embed
import Foundation
import MediaIO
import Models
import TestSupport
import Testing
import VideoData

/// `decouple embed`'s pipeline against the ModelScope pipeline reproduced in Python
/// (scripts/modelscope_reference.py, fixture from scripts/make_embed_fixtures.py), with the
/// narrow R(2+1)D whose weights the backbone tests commit.
@Suite("Embedding pipeline parity with the ModelScope pipeline in Python")
struct PipelineParityTests {
    static let directory = Paths.asset("fixtures/embed")

    struct Reference {
        var video: String
        var decoder: String
        var frames: Int
        var starts: [Int]
        var clips: [[Float]]
        var embedding: [Float]
    }

    static func references() throws -> (config: String, weights: String, results: [Reference]) {
        let manifest = try FixtureFiles.verifiedManifest(directory)
        let weights = Paths.root + "/" + (manifest["weights"] as! String)
        #expect(
            try FixtureFiles.sha256(weights) == manifest["weights_sha256"] as? String,
            "the narrow weights changed; regenerate with scripts/make_embed_fixtures.py")
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/reference.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let results = (json["results"] as! [[String: Any]]).map { r in
            Reference(
                video: r["video"] as! String, decoder: r["decoder"] as! String, frames: r["frames"] as! Int,
                starts: r["starts"] as! [Int], clips: (r["clip_embeddings"] as! [[Double]]).map { $0.map(Float.init) },
                embedding: (r["embedding"] as! [Double]).map(Float.init))
        }
        return (json["config"] as! String, weights, results)
    }

    /// max |a - b| / max |b|.
    static func relative(_ a: [Float], _ b: [Float]) -> Double {
        let scale = b.map { abs(Double($0)) }.max() ?? 0
        let worst = zip(a, b).map { abs(Double($0) - Double($1)) }.max() ?? 0
        return worst / max(scale, 1e-30)
    }

    @Test(
        "clip starts, every clip's embedding and the mean equal the Python pipeline's, with decord's frames as with the ffmpeg CLI's (1e-4)"
    )
    func embeddingsMatchPython() throws {
        let (config, weights, results) = try Self.references()
        let cfg = try BackboneConfig(.r2plus1d).applying(overrides: config)
        let embedder = VideoEmbedder(model: try Backbone(config: cfg, weightsAt: weights), forwardWorkers: 2)
        var checked = 0
        for video in Set(results.map(\.video)).sorted() {
            for ref in results where ref.video == video {
                // The ffmpeg CLI ran with MediaIO's accurate flags; decord converts as swscale's
                // defaults do (RGBConversion.modelscope): the same RGB bytes either way, so only
                // float rounding differs.
                let rgb: RGBConversion = ref.decoder == "ffmpeg" ? .accurate : .modelscope
                let source = try VideoClipSource(path: Paths.root + "/" + video, rgb: rgb)
                let windows = ClipSampler.modelScope(frameCount: source.frameCount)
                let clips = try embedder.embed(windows, from: source)
                let mean = VideoEmbedder.meanOverClips(clips)
                #expect(ref.frames == source.frameCount)
                #expect(ref.starts == windows.map(\.start), "\(video)")
                for (i, (ours, theirs)) in zip(clips, ref.clips).enumerated() {
                    let r = Self.relative(ours, theirs)
                    #expect(r <= 1e-4, "\(video) clip \(i) vs \(ref.decoder): relative difference \(r)")
                }
                let r = Self.relative(mean, ref.embedding)
                #expect(r <= 1e-4, "\(video) mean vs \(ref.decoder): relative difference \(r)")
                checked += 1
            }
        }
        #expect(checked == 4)
    }
}
