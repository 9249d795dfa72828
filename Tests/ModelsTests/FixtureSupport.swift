import Foundation
import Models
import SafeTensors
import Tensor
import TestSupport

/// One PyTorch fixture from a MANIFEST.json written by scripts/make_backbone_fixtures.py.
struct BackboneFixture: CustomStringConvertible {
    var name: String
    var model: String
    var config: String
    var stages: [String]
    var weights: String
    var io: String

    var description: String { name }

    /// The configuration the fixture was made with.
    func backboneConfig() throws -> BackboneConfig {
        try BackboneConfig(modelID: model).applying(overrides: config)
    }

    /// The fixture's tensors as `Tensor`s.
    func ioTensors() throws -> [String: Tensor] {
        try SafeTensorsReader(path: io).allTensors().mapValues { Tensor(shape: $0.shape, data: $0.values) }
    }

    /// Reads `directory/MANIFEST.json` after checking every file's sha256 with coreutils.
    static func load(_ directory: String) throws -> [BackboneFixture] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/MANIFEST.json"))
        guard let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let hashes = manifest["sha256"] as? [String: String], let list = manifest["fixtures"] as? [[String: Any]]
        else { throw TestFailure("\(directory)/MANIFEST.json lacks the fixtures list or sha256 table") }
        for (file, expected) in hashes {
            let actual = String(try runChecked("sha256sum", [directory + "/" + file]).text.prefix(64))
            guard actual == expected else {
                throw TestFailure(
                    "\(directory)/\(file) has sha256 \(actual), the manifest says \(expected); regenerate with scripts/make_backbone_fixtures.py"
                )
            }
        }
        return try list.map { e in
            guard let name = e["name"] as? String, let model = e["model"] as? String,
                let config = e["config"] as? String,
                let stages = e["stages"] as? [String], let w = e["weights"] as? String, let io = e["io"] as? String
            else { throw TestFailure("\(directory)/MANIFEST.json has an incomplete fixture entry") }
            return BackboneFixture(
                name: name, model: model, config: config, stages: stages, weights: directory + "/" + w,
                io: directory + "/" + io)
        }
    }

    static var committedDirectory: String { Paths.asset("fixtures/backbones") }

    /// The committed fixtures, or an empty list that the caller reports as a failure.
    static var committed: [BackboneFixture] { (try? load(committedDirectory)) ?? [] }
}
