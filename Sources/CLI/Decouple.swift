import ArgumentParser
import Bench

@main
struct Decouple: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decouple",
        abstract: "Keyframes and motion vectors from compressed video: probe, extract, benchmark.",
        discussion: """
            Exit codes: 0 success, 1 a file could not be used (the message names it and says why), \
            64 bad command-line usage.
            """,
        subcommands: [ExploreCommand.self, SynthCommand.self, PretrainCommand.self, ExportCommand.self, WeightsCommand.self, ProbeCommand.self, ExtractCommand.self, BenchCommand.self, ForwardCommand.self, ConvertCommand.self, EmbedCommand.self, SearchCommand.self, EvalCommand.self, StoreCommand.self]
    )
}
