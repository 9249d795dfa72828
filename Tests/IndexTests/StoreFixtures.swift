import Foundation
import Index
import TestSupport
import VideoData

/// Small stores for the tests: a manifest of a given model and dimension, items named after
/// their row, vectors that encode their row so a misplaced row shows.
enum StoreFixtures {
    static func manifest(
        model: String = "r2p1d-26", dimension: Int = 4, seed: UInt64 = 0, rgb: RGBConversion = .modelscope
    ) -> EmbeddingManifest {
        EmbeddingManifest(
            model: model, config: model, weights: .init(file: nil, sha256: nil, random: true, seed: seed),
            preprocessing: .modelScope,
            sampling: .init(rule: "modelscope", clips: 10, frames: 16, stride: 4, hop: nil, pooling: "mean"),
            dimension: dimension, count: 0, rgb: rgb)
    }

    static func item(_ i: Int, model: String = "r2p1d-26", path: String? = nil) -> EmbeddingItem {
        EmbeddingItem(
            id: "v\(i)", path: path ?? "/videos/v\(i).mp4", startFrame: 0, endFrame: 61, startSeconds: 0,
            endSeconds: 2.44,
            model: model, clips: 10, fileSize: 1000 + i, fileSHA256: String(repeating: String(i % 10), count: 64))
    }

    static func vector(_ i: Int, dimension: Int = 4) -> [Float] {
        (0..<dimension).map { Float(i) + Float($0) / 10 }
    }

    static func directory(_ name: String) -> String { Paths.temporaryDirectory(name) + "/store" }
}
