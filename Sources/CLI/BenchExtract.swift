import ArgumentParser
struct BenchExtract: ParsableCommand { static let configuration = CommandConfiguration(commandName: "extract"); func run() {} }
