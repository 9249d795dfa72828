import ArgumentParser
import Common
import Foundation
import Index
import Models
import Pretrain

extension MotionReadout: ExpressibleByArgument {}

/// `decouple export RUN -o FILE`: a pretraining run's backbone, views and model card.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a pretraining run's backbone (inference key names) and its view networks, with a model card.",
        discussion: """
            FILE gets the backbone with the key names of the ModelScope checkpoint (loadable by \
            embed, search and explore with --weights FILE and the run's --config); \
            FILE.views.safetensors what the other views read (the predictor and its heads for the \
            video variants, the I-frame network for the scene view, the motion-vector network for the \
            motion view); FILE.json the model card.

            Example: decouple export runs/cmd -o weights/r2p1d-26.safetensors
            """
    )

    @Argument(help: "Run directory.")
    var directory: String

    @Option(name: .shortAndLong, help: "Output .safetensors file.")
    var output: String

    @Option(help: "Which checkpoint: best, last, or a checkpoint's path (with or without .safetensors).")
    var checkpoint = "last"

    @Option(help: "JSON from eval scene-bias to record in the model card.")
    var sceneBias: String?

    @Option(
        help: """
            What the motion view reads of the motion network (docs/training.md#how-the-views-read-their-networks); \
            default layer2-max, with --add-to layer2-max+move-head.
            """)
    var motionReadout: MotionReadout?

    @Option(
        help: """
            Exported weights to add a move-only run's network and head to (pretrain --move-only): \
            FILE gets these weights with the move network beside their CMD networks \
            (docs/training.md#move-pairs). FILE may be the same file.
            """)
    var addTo: String?

    @Option(
        help: """
            With --motion-readout layer2-max+move-head: the move head's share of the motion view's \
            cosine, between 0 and 1 (default: the two parts side by side, 0.5).
            """)
    var moveHeadShare: Float?

    /// `--motion-readout`, or its default for the form of export asked for.
    var readout: MotionReadout { motionReadout ?? (addTo == nil ? .layer2Max : .layer2MaxMoveHead) }

    func validate() throws {
        guard let w = moveHeadShare else { return }
        guard w > 0, w < 1, readout == .layer2MaxMoveHead else {
            throw ValidationError(
                "--move-head-share takes a share between 0 and 1 and the readout layer2-max+move-head (got \(w), \(readout.rawValue))."
            )
        }
    }

    func run() throws {
        do {
            let run = try PretrainRun(directory: directory)
            let path = try run.checkpoint(checkpoint)
            // Checked before anything is written: a bad file leaves no half-exported weights.
            let rows = try sceneBias.map { file in
                guard let data = FileManager.default.contents(atPath: file),
                    let rows = try? JSONDecoder().decode([SceneBiasRow].self, from: data)
                else {
                    throw Trainer.TrainingError(description: "'\(file)' is not the JSON of decouple eval scene-bias.")
                }
                return rows
            }
            let cardPath =
                try addTo.map {
                    try run.addMoveNetwork(
                        checkpoint: path, base: $0, to: output, sceneBias: rows,
                        motionReadout: readout, moveHeadShare: moveHeadShare)
                }
                ?? run.export(
                    checkpoint: path, to: output, sceneBias: rows, motionReadout: readout, moveHeadShare: moveHeadShare)
            print("\(output), \(ViewsFile.path(for: output)), \(cardPath)")
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
    }
}
