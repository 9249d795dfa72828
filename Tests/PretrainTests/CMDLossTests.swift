import Foundation
import Pretrain
import SafeTensors
import Tensor
import TestSupport
import Testing

/// The two CMD losses against PyTorch (scripts/make_cmd_loss_fixture.py: float64 from the
/// stored float32 inputs): the loss and the gradients of weight · loss on the raw head outputs.
@Suite("CMD losses match PyTorch")
struct CMDLossTests {
    static let directory = Paths.asset("fixtures/cmd_loss")

    static func load() throws -> [String: Tensor] {
        _ = try FixtureFiles.verifiedManifest(directory)
        return try SafeTensorsReader(path: directory + "/cmd_losses.safetensors").allTensors().mapValues {
            Tensor(shape: $0.shape, data: $0.values)
        }
    }

    static func relative(_ ours: Tensor, _ reference: Tensor) -> Float {
        precondition(ours.count == reference.count)
        return Tensor(shape: reference.shape, data: ours.data).maxAbsDifference(reference) / reference.maxAbs()
    }

    @Test("context matching: clip → its own I-frame among the batch's")
    func context() throws {
        let t = try Self.load()
        let r = CMDLoss.context(
            clips: t["context.clips"]!, frames: t["context.frames"]!, temperature: 0.1, weight: 0.25)
        let expected = Double(t["context.loss"]!.data[0])
        #expect(abs(r.loss - expected) <= 1e-5 * expected, "loss \(r.loss) vs torch \(expected)")
        #expect(Self.relative(r.dQueries, t["context.dclips"]!) <= 1e-5)
        #expect(Self.relative(r.dKeys, t["context.dframes"]!) <= 1e-5)
    }

    @Test(
        "pointwise motion prediction: (clip, position) → the same position of the clip's future motion, among every target token"
    )
    func motion() throws {
        let t = try Self.load()
        let predicted = t["motion.predicted"]!
        let positive = t["motion.positive"]!
        let negatives = t["motion.negatives"]!
        let d = predicted.shape[2]
        // The batch's target tokens in CMDBatch's order: the positive clips, then the negatives.
        let targets = Tensor(shape: [(positive.count + negatives.count) / d, d], data: positive.data + negatives.data)
        let r = CMDLoss.motion(
            predicted: predicted.reshaped([predicted.count / d, d]), targets: targets, temperature: 0.1, weight: 1)
        let expected = Double(t["motion.loss"]!.data[0])
        #expect(expected < log(Double(targets.shape[0])) - 1, "the fixture's queries should be informative")
        #expect(abs(r.loss - expected) <= 1e-5 * expected, "loss \(r.loss) vs torch \(expected)")
        #expect(Self.relative(r.dQueries, t["motion.dpredicted"]!) <= 1e-5)
        #expect(Self.relative(r.dKeys, t["motion.dtargets"]!) <= 1e-5)
    }
}
