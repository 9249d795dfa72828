import ArgumentParser
import Bench

@main
struct Decouple: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decouple",
        abstract: "Context and motion from compressed video: explore, extract, embed, search, evaluate, pretrain.",
        discussion: """
            Exit codes: 0 success, 1 a file could not be used (the message names it and says why), \
            64 bad command-line usage.
            """,
        subcommands: [
            ExploreCommand.self, ProbeCommand.self, ExtractCommand.self, EmbedCommand.self, SearchCommand.self,
            EvalCommand.self,
            StoreCommand.self, ForwardCommand.self, ConvertCommand.self, SynthCommand.self, CameraSetCommand.self,
            PretrainCommand.self,
            ExportCommand.self,
            WeightsCommand.self, BenchCommand.self,
        ]
    )
}
