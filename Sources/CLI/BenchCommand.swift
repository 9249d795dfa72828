import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, each next to a peer measured in the same run (build with -c release).",
        subcommands: [BenchExtract.self, BenchModel.self, BenchEmbed.self, BenchExplore.self, BenchSearch.self, BenchTrain.self]
    )
}
