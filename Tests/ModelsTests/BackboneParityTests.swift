import Foundation
import Models
import SafeTensors
import Tensor
import TestSupport
import Testing

/// Every stage of every backbone against PyTorch (fixtures from scripts/make_backbone_fixtures.py):
/// relative error max |ours - torch| / max |torch| at most 1e-4.
@Suite("Backbones match PyTorch")
struct BackboneParityTests {
    static let tolerance: Float = 1e-4

    @Test("the committed fixtures are present and intact")
    func fixturesPresent() throws {
        let fixtures = try BackboneFixture.load(BackboneFixture.committedDirectory)
        #expect(Set(fixtures.map(\.model)) == ["r2p1d-26", "r3d-26", "c3d"])
    }

    @Test("every stage within 1e-4 of PyTorch", arguments: BackboneFixture.committed)
    func everyStage(_ fixture: BackboneFixture) throws {
        let config = try fixture.backboneConfig()
        let model = try Backbone(config: config, weightsAt: fixture.weights)
        let io = try fixture.ioTensors()
        let input = try #require(io["input"])
        let stages = model.forwardStages(input)
        #expect(stages.map(\.name) == fixture.stages)
        var report: [String] = []
        defer { print("parity \(fixture.name): " + report.joined(separator: ", ")) }
        for (name, ours) in stages {
            let reference = try #require(io[name], "fixture has no stage \(name)")
            #expect(ours.shape == reference.shape, "\(fixture.name) \(name)")
            guard ours.shape == reference.shape else { continue }
            let error = ours.relativeError(to: reference)
            report.append("\(name) \(error)")
            #expect(error <= Self.tolerance, "\(fixture.name) \(name): relative error \(error)")
        }
        // Against float64 PyTorch as well: our float32 sits as close as torch's own float32.
        let output = stages.last!.tensor
        let fp64 = try #require(io["output_fp64"])
        #expect(output.relativeError(to: fp64) <= Self.tolerance)
    }

    @Test(
        "forward equals the staged pass, within a clip, across clips and on 2 threads",
        arguments: BackboneFixture.committed)
    func forwardModes(_ fixture: BackboneFixture) throws {
        let model = try Backbone(config: try fixture.backboneConfig(), weightsAt: fixture.weights)
        let input = try #require(try fixture.ioTensors()["input"])
        let reference = try #require(try fixture.ioTensors()["output"])
        let staged = model.forwardStages(input).last!.tensor
        let one = model.forward(input, threads: 1)
        let within = model.forward(input, threads: 2, parallelism: .withinClip)
        let across = model.forward(input, threads: 2, parallelism: .acrossClips)
        #expect(one.shape == [input.shape[0], model.embeddingDimension])
        #expect(one == staged)
        // OpenBLAS's threaded kernels may round differently at block edges; clips across
        // threads run the very same single-threaded code.
        #expect(within.relativeError(to: one) <= 1e-5)
        #expect(across == one)
        #expect(one.relativeError(to: reference) <= Self.tolerance)
    }

    /// Opt-in: the published R(2+1)D-26 at 1x3x16x112x112. Generate the fixture with
    /// `scripts/make_backbone_fixtures.py --full --out DIR`, then run with
    /// `DECOUPLE_FULL_FIXTURE=DIR`.
    @Test(
        "full-size R(2+1)D-26 matches PyTorch (DECOUPLE_FULL_FIXTURE)",
        .enabled(
            if: ProcessInfo.processInfo.environment["DECOUPLE_FULL_FIXTURE"] != nil,
            "set DECOUPLE_FULL_FIXTURE to a directory made by make_backbone_fixtures.py --full"))
    func fullSize() throws {
        let directory = ProcessInfo.processInfo.environment["DECOUPLE_FULL_FIXTURE"]!
        for fixture in try BackboneFixture.load(directory) {
            let config = try fixture.backboneConfig()
            let model = try Backbone(config: config, weightsAt: fixture.weights)
            let io = try fixture.ioTensors()
            let stages = model.forwardStages(try #require(io["input"]), threads: 2)
            var report: [String] = []
            for (name, ours) in stages {
                let reference = try #require(io[name])
                let error = ours.relativeError(to: reference)
                report.append("\(name) \(error)")
                #expect(error <= Self.tolerance, "\(fixture.name) \(name): relative error \(error)")
            }
            let fp64 = try #require(io["output_fp64"])
            report.append("output_vs_fp64 \(stages.last!.tensor.relativeError(to: fp64))")
            print("full-size parity \(fixture.name): " + report.joined(separator: ", "))
        }
    }
}
