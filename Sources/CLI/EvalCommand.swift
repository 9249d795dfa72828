import ArgumentParser
import Common
import Foundation
import Index

/// `decouple eval`: evaluations of a store (`retrieval`; `scene-bias` joins later).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate embeddings: retrieval recall as in the CMD paper.",
        subcommands: [EvalRetrieval.self, EvalSceneBias.self]
    )
}

/// `decouple eval retrieval STORE --labels CSV`.
struct EvalRetrieval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieval",
        abstract:
            "Top-k retrieval recall (k = 1, 5, 10, 20, 50) and nearest-neighbour accuracy, the CMD paper's protocol.",
        discussion: """
            Videos of --query-split are queries, videos of --gallery-split the gallery; each \
            video is one vector (the mean of its rows: its clips, or its one mean row); \
            similarity is cosine; a query is a hit at k when a gallery video of its class is \
            among its k nearest. Also the 1-nearest-neighbour classification accuracy (equal to \
            recall at 1) and its class-balanced form.

            Labels: CSV with a header naming path (or id), class and split; relative paths \
            resolve against the CSV's directory; lines match the store's videos by path, else by \
            item id. decouple synth writes such a file (splits in-context / out-of-context).

            Example: decouple eval retrieval store --labels synth/labels.csv \
            --query-split out-of-context --gallery-split in-context
            """
    )

    @Argument(help: "Store directory, or a directory of per-view stores (embed --views): one table per view.")
    var store: String

    @Option(help: "Labels CSV (path or id, class, split).")
    var labels: String

    @Option(help: "Split whose videos are the queries.")
    var querySplit = "test"

    @Option(help: "Split whose videos are the gallery.")
    var gallerySplit = "train"

    @Option(name: .customLong("k"), help: "Comma-separated k values.")
    var ks = "1,5,10,20,50"

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard
            let values = Optional(ks.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }),
            values.count == ks.split(separator: ",").count, !values.isEmpty, values.allSatisfy({ $0 >= 1 })
        else { throw ValidationError("--k takes positive integers separated by commas, e.g. 1,5,10,20,50.") }
        guard querySplit != gallerySplit else {
            throw ValidationError("--query-split and --gallery-split must differ.")
        }
    }

    func run() throws {
        let directories = ViewStores.stores(in: store)
        for (n, directory) in (directories.isEmpty ? [store] : directories).enumerated() {
            if n > 0 && !json { print("") }
            try evaluate(directory)
        }
    }

    func evaluate(_ store: String) throws {
        let kValues = ks.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }
        do {
            let opened = try EmbeddingStore(opening: store)
            let labelled = try RetrievalLabels(contentsOf: labels)
            let report = try RetrievalEvaluation.evaluate(
                store: opened, labels: labelled, querySplit: querySplit, gallerySplit: gallerySplit, ks: kValues)
            if json {
                struct Output: Encodable {
                    var store: String
                    var labels: String
                    var model: String
                    var view: String
                    var weights: String
                    var report: RetrievalReport
                }
                print(
                    Console.json(
                        Output(
                            store: store, labels: labels, model: opened.manifest.config,
                            view: ViewStores.view(of: opened.manifest),
                            weights: opened.manifest.weights.label, report: report)))
            } else {
                print(report.table(store: opened, labels: labels))
            }
        } catch let error as StoreError {
            Console.error(error.description)
            throw ExitCode(1)
        }
    }
}
