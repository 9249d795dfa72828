import Common
import Foundation
import Index
import Models

/// A pretraining run directory as `decouple pretrain` leaves it: `config.json` (the setup),
/// `checkpoints/step-*.{safetensors,json}`, `best.*`, `log.jsonl`.
public struct PretrainRun {
    public let directory: String
    public let setup: PretrainSetup

    /// - Throws: `Trainer.TrainingError` when `directory` holds no readable `config.json`.
    public init(directory: String) throws {
        guard let data = FileManager.default.contents(atPath: directory + "/config.json"),
            let setup = try? JSONDecoder().decode(PretrainSetup.self, from: data)
        else {
            throw Trainer.TrainingError(
                description: "'\(directory)' is not a pretraining run (no readable config.json).")
        }
        self.directory = directory
        self.setup = setup
    }

    /// The checkpoint path (without extension) for `which`: `best`, `last` (the newest in
    /// `checkpoints/`), or a checkpoint's path, with or without its extension.
    public func checkpoint(_ which: String) throws -> String {
        switch which {
        case "best": return directory + "/best"
        case "last":
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/checkpoints")) ?? [])
                .filter { $0.hasSuffix(".json") }.sorted()
            guard let last = names.last else {
                throw Trainer.TrainingError(description: "'\(directory)' has no checkpoint yet.")
            }
            return directory + "/checkpoints/" + last.dropLast(5)
        default:
            // A checkpoint is a pair, NAME.safetensors and NAME.json: either file's path names it.
            var name = which
            for suffix in [".safetensors", ".json"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
            guard FileManager.default.fileExists(atPath: name + ".safetensors") else {
                throw Trainer.TrainingError(
                    description:
                        "'\(which)' is not a checkpoint: there is no '\(name).safetensors' (give best, last or a path like '\(directory)/checkpoints/step-000200')."
                )
            }
            return name
        }
    }

    /// Exports `checkpoint` to `output` (`Export.write`) and writes the model card beside it,
    /// with `sceneBias` rows when given and the motion view's `motionReadout`; returns the card's path.
    public func export(
        checkpoint: String, to output: String, sceneBias: [SceneBiasRow]?, motionReadout: MotionReadout = .layer2Max,
        moveHeadShare: Float? = nil
    ) throws -> String {
        guard !setup.model.moveOnly else {
            throw Trainer.TrainingError(
                description:
                    "'\(directory)' trained only a move network (pretrain --move-only): give --add-to WEIGHTS, the exported weights whose CMD networks it goes beside."
            )
        }
        guard !motionReadout.readsMoveHead || setup.model.moveHead == true else {
            throw Trainer.TrainingError(
                description:
                    "'\(directory)' was trained without --move-head: it has no move head for --motion-readout \(motionReadout.rawValue)."
            )
        }
        let metadata = [
            "format": "pt", "model": setup.model.backbone.modelID, "config": setup.model.backbone.description,
            "trained_by": "decouple pretrain (CMD)", "checkpoint": (checkpoint as NSString).lastPathComponent,
        ]
        do {
            try Export.write(
                setup: setup, checkpoint: checkpoint, to: output, metadata: metadata, motionReadout: motionReadout,
                moveHeadShare: moveHeadShare)
        } catch {
            throw Trainer.TrainingError(description: "'\(checkpoint)' could not be exported: \(error)")
        }
        var card = ModelCard(
            setup: setup, checkpoint: checkpoint, summary: Trainer.Summary(run: directory), weights: output,
            views: ViewsFile.path(for: output), motionReadout: motionReadout, moveHeadShare: moveHeadShare)
        card.weightsSHA256 = try? SHA256.hexDigest(ofFile: output)
        card.sceneBias = sceneBias
        return try Self.write(card, beside: output)
    }

    /// Writes the exported weights `base` to `output` with this move-only run's network and head
    /// beside its CMD networks (`Export.addMoveNetwork`), and the card of `base` with the run
    /// added (`sceneBias` replacing its rows when given); returns the card's path.
    public func addMoveNetwork(
        checkpoint: String, base: String, to output: String, sceneBias: [SceneBiasRow]?,
        motionReadout: MotionReadout, moveHeadShare: Float? = nil
    ) throws -> String {
        guard setup.model.moveOnly else {
            throw Trainer.TrainingError(
                description:
                    "'\(directory)' is a CMD run: --add-to takes a run of pretrain --move-only, whose move network goes beside the weights' CMD networks."
            )
        }
        guard motionReadout.readsMoveHead else {
            throw Trainer.TrainingError(
                description:
                    "--motion-readout \(motionReadout.rawValue) does not read the move head that --add-to adds: use move-head or layer2-max+move-head."
            )
        }
        let baseCard = ModelCardFile.path(for: base)
        guard let data = FileManager.default.contents(atPath: baseCard),
            let card = try? JSONDecoder().decode(ModelCard.self, from: data)
        else {
            throw Trainer.TrainingError(
                description: "'\(base)' has no readable model card ('\(baseCard)'), which --add-to extends.")
        }
        do {
            try Export.addMoveNetwork(
                setup: setup, checkpoint: checkpoint, base: base, to: output, motionReadout: motionReadout,
                moveHeadShare: moveHeadShare)
        } catch {
            throw Trainer.TrainingError(description: "'\(checkpoint)' could not be added to '\(base)': \(error)")
        }
        var added = card.addingMoveNetwork(
            setup: setup, checkpoint: checkpoint, summary: Trainer.Summary(run: directory),
            views: ViewsFile.path(for: output), motionReadout: motionReadout, moveHeadShare: moveHeadShare)
        added.weights = output
        if let sceneBias { added.sceneBias = sceneBias }
        return try Self.write(added, beside: output)
    }

    /// Writes `card` as the model card of the weights `output`; returns its path.
    static func write(_ card: ModelCard, beside output: String) throws -> String {
        let path = ModelCardFile.path(for: output)
        try AtomicFile.write(Data(Console.json(card).utf8), to: path)
        return path
    }
}
