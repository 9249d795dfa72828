import ArgumentParser

/// `decouple bench …`: each benchmark next to its peer, measured in the same run.
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, each next to a peer measured in the same run (build with -c release).",
        subcommands: [
            BenchExtract.self, BenchModel.self, BenchEmbed.self, BenchExplore.self, BenchSearch.self, BenchTrain.self,
            BenchPretrain.self,
            BenchViews.self,
        ]
    )

    public init() {}
}
