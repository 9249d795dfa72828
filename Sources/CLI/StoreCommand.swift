import ArgumentParser
import Common
import Foundation
import Index

/// `decouple store`: work on store directories.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect and merge embedding stores.",
        subcommands: [StoreMergeCommand.self, StoreInfoCommand.self]
    )
}

/// `decouple store merge A B ... -o C`.
struct StoreMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join stores (the shards of a job array) into one; refuses stores of different models or weights.",
        discussion: """
            Rows are taken in the order of the stores given. A row whose file content and frame \
            range an earlier store already holds is dropped (a video embedded twice); an id \
            already taken gets _2, _3... The output is assembled under a temporary name and \
            renamed into place.

            Example: decouple store merge shards/0 shards/1 shards/2 -o store
            """
    )

    @Argument(help: "Store directories.")
    var stores: [String]

    @Option(name: .shortAndLong, help: "The merged store directory.")
    var output: String

    @Flag(help: "Replace an existing output directory.")
    var force = false

    func validate() throws {
        guard !stores.isEmpty else { throw ValidationError("give at least one store to merge.") }
    }

    func run() throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            Console.error("'\(output)' already exists; pass --force to replace it.")
            throw ExitCode(1)
        }
        do {
            let summary = try StoreMerge.merge(stores, into: output, replace: force)
            var line = "\(output): \(summary.rows) rows from \(stores.count) store\(stores.count == 1 ? "" : "s")"
            if summary.duplicates > 0 {
                line += ", \(summary.duplicates) duplicate row\(summary.duplicates == 1 ? "" : "s") dropped"
            }
            if summary.renamed > 0 { line += ", \(summary.renamed) id\(summary.renamed == 1 ? "" : "s") renamed" }
            print(line)
        } catch let error as StoreError {
            Console.error(error.description)
            throw ExitCode(1)
        }
    }
}

/// `decouple store info STORE`.
struct StoreInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Check a store and print its manifest and size.",
        discussion: "Example: decouple store info store"
    )

    @Argument(help: "Store directory.")
    var store: String

    @Flag(help: "Print the manifest as JSON.")
    var json = false

    func run() throws {
        do {
            let s = try EmbeddingStore(opening: store)
            if json {
                print(Console.json(s.manifest))
                return
            }
            let videos = Set(s.items.map(\.path)).count
            let m = s.manifest
            print(
                """
                store      \(store)
                rows       \(s.count) (\(videos) video\(videos == 1 ? "" : "s")) x \(s.dimension) float32
                model      \(m.config), weights \(m.weights.label)\(m.weights.file.map { " (\($0))" } ?? "")
                clips      \(m.sampling.rule)\(m.sampling.clips.map { " \($0) clips" } ?? "") of \(m.sampling.frames) frames at stride \(m.sampling.stride), pooling \(m.sampling.pooling)
                input      short side \(m.preprocessing.shortSide), crop \(m.preprocessing.crop)
                created    \(m.created) by \(m.tool)
                """)
        } catch let error as StoreError {
            Console.error(error.description)
            throw ExitCode(1)
        }
    }
}
