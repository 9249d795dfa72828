import Common
import Foundation
import Index
import Models
import VideoData

/// The weights the tools use when none are given: `weights/default.json` names the file (in
/// the same folder), its model and configuration, the input size and the embedding view.
/// `make weights` writes it next to the weights it trains.
public struct DefaultModel: Codable, Sendable, Equatable {
    /// File name inside `weights/`.
    public var weights: String
    public var model: String
    /// Overrides applied to the model's published configuration (`planes=… stem=… size=…`).
    public var config: String
    /// The variant of the video view the evaluation chose (`pooled`, `predicted`, ...:
    /// `EmbeddingView`'s names; `video` means this one).
    public var view: String
    /// How frames are converted to RGB for these weights (as in their training); absent in
    /// cards from before it was recorded, whose weights were all trained with `accurate`.
    public var rgb: RGBConversion?

    public init(weights: String, model: String, config: String, view: String, rgb: RGBConversion) {
        self.weights = weights
        self.model = model
        self.config = config
        self.view = view
        self.rgb = rgb
    }

    /// The first `weights/default.json` found in `directories`, with the weights' full path.
    public static func find(in directories: [String]) -> (model: DefaultModel, path: String)? {
        for d in directories {
            let card = (d as NSString).appendingPathComponent("weights/default.json")
            guard let data = FileManager.default.contents(atPath: card),
                let m = try? JSONDecoder().decode(DefaultModel.self, from: data)
            else { continue }
            let path = (d as NSString).appendingPathComponent("weights/" + m.weights)
            if FileManager.default.fileExists(atPath: path) { return (m, path) }
        }
        return nil
    }

    /// The shipped weights when the user asked for nothing else: the same model id, no
    /// `--config` overrides (a different architecture or width has no default weights) and no
    /// `weights/<model>.safetensors` of the user's (such as the converted ModelScope checkpoint),
    /// which wins.
    public static func shipped(model: String, config: String) -> (model: DefaultModel, path: String)? {
        let dirs = Resources.searchDirectories
        let own = dirs.contains {
            FileManager.default.fileExists(
                atPath: ($0 as NSString).appendingPathComponent("weights/\(model).safetensors"))
        }
        guard config.isEmpty, !own, let found = find(in: dirs), found.model.model == model else { return nil }
        return found
    }

    /// The video variant `make weights` ships for `weights` among scene-bias rows named
    /// "`<weights>, video:<variant> view`" (the scene and motion views are not candidates: they
    /// have no variants to choose): the best out-of-context R@1 (ties: in-context R@1) among the
    /// variants that keep in-context R@1 at 0.5 or more, or among all of them when none does.
    public static func bestView(of weights: String, in rows: [SceneBiasRow]) -> (view: String, row: SceneBiasRow)? {
        let mine = rows.filter { variant(of: $0.method, weights: weights) != nil }
        let candidates = mine.filter { ($0.inContext(at: 1) ?? 0) >= 0.5 }
        let key = { (r: SceneBiasRow) in (r.outOfContext(at: 1) ?? 0, r.inContext(at: 1) ?? 0) }
        guard let best = (candidates.isEmpty ? mine : candidates).max(by: { key($0) < key($1) }) else { return nil }
        return (variant(of: best.method, weights: weights)!, best)
    }

    /// The video variant of a row named "`<weights>, V view`", or nil for another row (another
    /// weights file, a baseline, the scene or motion view).
    static func variant(of method: String, weights: String) -> String? {
        guard method.hasPrefix(weights + ", "), method.hasSuffix(" view") else { return nil }
        return (try? ViewName(parsing: String(method.dropFirst(weights.count + 2).dropLast(" view".count))))?.variant
    }

    public func backboneConfig() throws -> BackboneConfig {
        try BackboneConfig(modelID: model).applying(overrides: config)
    }

    /// ModelScope's preprocessing scaled to the model's input side (short side 128:112).
    public static func preprocessing(for config: BackboneConfig) -> Preprocessing {
        config.size == 112
            ? .modelScope
            : Preprocessing(shortSide: Int((Double(config.size) * 128 / 112).rounded()), crop: config.size)
    }
}
