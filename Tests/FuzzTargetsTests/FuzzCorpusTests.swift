import Foundation
import FuzzTargets
import SafeTensors
import TestSupport
import Testing

/// Every fuzz harness's corpus (seeds, and the minimised inputs of the crashes it found), fed
/// once to the same function the libFuzzer harness calls: a deterministic replay that needs no
/// fuzzer runtime. A trap here fails the whole test run, as it would have crashed the tools.
@Suite("Fuzz corpora replay through the real parsers")
struct FuzzCorpusTests {
    static func corpus(_ name: String) -> [(String, Data)] {
        let directory = Paths.root + "/Fuzz/corpus/" + name
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.sorted().compactMap { file in
            FileManager.default.contents(atPath: directory + "/" + file).map { (file, $0) }
        }
    }

    @Test("each harness has a seed corpus, and every input parses or throws", arguments: FuzzTargets.names)
    func replay(_ name: String) throws {
        let inputs = Self.corpus(name)
        #expect(!inputs.isEmpty, "Fuzz/corpus/\(name) is empty")
        let target = try #require(FuzzTargets.target(name))
        for (_, data) in inputs { target(data) }
    }

    @Test("the pickle harness wraps a seed into a checkpoint that reads whole")
    func pickleArchiveIsValid() throws {
        let pickle = try #require(Self.corpus("pickle").first { $0.0 == "views.pkl" }?.1)
        let path = Paths.temporaryDirectory("fuzz-pickle") + "/views.pt"
        try FuzzTargets.pickleArchive(pickle).write(to: URL(fileURLWithPath: path))
        let checkpoint = try TorchCheckpoint(path: path)
        #expect(!checkpoint.names.isEmpty)
    }
}
