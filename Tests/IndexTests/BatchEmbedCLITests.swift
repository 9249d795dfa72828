import Foundation
import Index
import TestSupport
import Testing
import VideoData

/// Short distinct videos in two subfolders, for batch embedding through the built binary.
enum ShortVideos {
    /// A tiny untrained model and small crops so a video embeds in a fraction of a second.
    static let model = [
        "--random-weights", "--seed", "1", "--config", "planes=6,8,12,16 stem=10", "--crop", "56", "--short-side", "64",
        "--clips", "2",
    ]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var made = Set<Int>()

    /// `count` H.264 videos (`a/clip_0.mp4`, `b/clip_1.mp4`, ...) of different lengths, plus
    /// `notes.txt` that the folder walk must ignore. Made once per test process.
    static func folder(count: Int = 6) throws -> String {
        let root = Paths.scratch + "/short-videos-\(count)"
        lock.lock()
        defer { lock.unlock() }
        if made.insert(count).inserted {
            for i in 0..<count {
                let dir = root + "/" + (i % 2 == 0 ? "a" : "b")
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try runChecked(
                    "ffmpeg",
                    [
                        "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x72:rate=25", "-frames:v", "\(12 + 3 * i)",
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-y", dir + "/clip_\(i).mp4",
                    ])
            }
            try "not a video".write(toFile: root + "/notes.txt", atomically: true, encoding: .utf8)
        }
        return root
    }

    static func embed(_ arguments: [String], environment: [String: String]? = nil) throws -> ProcessOutput {
        try run(Paths.decouple, ["embed"] + arguments + model, environment: environment)
    }

    /// Rows of a store by id.
    static func rows(_ dir: String) throws -> [String: [Float]] {
        let store = try EmbeddingStore(opening: dir)
        let m = try store.readMatrix()
        let d = store.dimension
        return Dictionary(
            uniqueKeysWithValues: store.items.enumerated().map { ($1.id, Array(m[$0 * d..<($0 + 1) * d])) })
    }
}

@Suite("decouple embed over folders: resume, crashes, interrupts, shards, merge", .serialized)
struct BatchEmbedCLITests {
    @Test("a folder becomes a store; a rerun skips every video; unreadable files are one line each and exit 1")
    func folderAndResume() throws {
        let videos = try ShortVideos.folder()
        let store = Paths.temporaryDirectory("batch") + "/store"
        let first = try ShortVideos.embed([videos, "-o", store])
        #expect(first.status == 0, "\(first.stderr)")
        let events = first.text.split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(events.filter { $0["event"] as? String == "embedded" }.count == 6)
        #expect(events.last?["event"] as? String == "summary" && events.last?["embedded"] as? Int == 6)
        let opened = try EmbeddingStore(opening: store)
        #expect(opened.items.map(\.id) == ["a/clip_0", "a/clip_2", "a/clip_4", "b/clip_1", "b/clip_3", "b/clip_5"])
        #expect(
            opened.items.allSatisfy { $0.fileSHA256?.count == 64 && ($0.fileSize ?? 0) > 0 && $0.path.hasPrefix("/") })

        let again = try ShortVideos.embed([videos, "-o", store])
        #expect(again.status == 0)
        #expect(again.text.contains("\"embedded\":0") && again.text.contains("\"skipped\":6"), "\(again.text)")
        #expect(try EmbeddingStore(opening: store).count == 6)

        // A broken file and a missing path among good ones: one line each, the rest embedded, exit 1.
        let dir = Paths.temporaryDirectory("batch-bad")
        let bad = dir + "/broken.mp4"
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131) }).write(to: URL(fileURLWithPath: bad))
        let mixed = try ShortVideos.embed([bad, videos + "/a/clip_0.mp4", dir + "/absent.mp4", "-o", dir + "/store"])
        #expect(mixed.status == 1)
        let errors = mixed.stderr.split(separator: "\n").filter { $0.hasPrefix("decouple: '") }
        #expect(
            errors.count == 2 && errors.contains { $0.contains("broken.mp4") }
                && errors.contains { $0.contains("absent.mp4") }, "\(mixed.stderr)")
        #expect(mixed.stderr.contains("2 of 3 videos failed"))
        #expect(try EmbeddingStore(opening: dir + "/store").count == 1)

        // Another setup into the same store is refused with one sentence.
        let other = try run(
            Paths.decouple, ["embed", videos, "-o", store] + ShortVideos.model.map { $0 == "1" ? "2" : $0 })
        #expect(
            other.status == 1 && other.stderr.contains("holds embeddings of another setup")
                && other.stderr.contains("seed 2"), "\(other.stderr)")
    }

    @Test(
        "killed at every step of an append, the store stays readable; a rerun finishes it with the same vectors",
        arguments: ["rows", "items", "manifest", "header"])
    func crashMidAppend(step: String) throws {
        let videos = try ShortVideos.folder()
        let reference = Paths.temporaryDirectory("reference") + "/store"
        #expect(try ShortVideos.embed([videos + "/a", "-o", reference]).status == 0)

        let store = Paths.temporaryDirectory("crash-\(step)") + "/store"
        let crashed = try ShortVideos.embed(
            [videos + "/a", "-o", store], environment: ["DECOUPLE_CRASH_AT": "\(step):2"])
        #expect(crashed.status == 9, "killed by SIGKILL: \(crashed.status) \(crashed.stderr)")
        // Committed: the first video, plus the second once its manifest was renamed into place.
        let committed = step == "manifest" || step == "header" ? 2 : 1
        let opened = try EmbeddingStore(opening: store)
        #expect(opened.count == committed)
        #expect(try opened.readMatrix().count == committed * opened.dimension)
        // numpy's view: np.load reads the rows the .npy header names (and ignores bytes after
        // them), which is the previous store until step 4 rewrote the header.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: store + "/embeddings.npy")))
        let header = try #require(NPY.parseHeader(bytes))
        #expect(header.shape == [step == "header" ? 2 : 1, 64])
        #expect(bytes.count >= header.dataOffset + header.shape[0] * 64 * 4)

        let resumed = try ShortVideos.embed([videos + "/a", "-o", store])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(
            resumed.text.contains("\"embedded\":\(3 - committed)") && resumed.text.contains("\"skipped\":\(committed)"),
            "\(resumed.text)")
        #expect(try FixtureFiles.readFloat32NPY(store + "/embeddings.npy").shape == [3, 64])
        #expect(try ShortVideos.rows(store) == (try ShortVideos.rows(reference)))
    }

    @Test(
        "SIGKILL at random moments never leaves an unreadable store; Ctrl-C stops with 130 and a rerun resumes without recomputing"
    )
    func killsAndInterrupts() throws {
        let videos = try ShortVideos.folder()
        let store = Paths.temporaryDirectory("kills") + "/store"
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<4 {
            let p = try Self.start([videos, "-o", store])
            usleep(UInt32.random(in: 100_000...900_000, using: &rng))
            kill(p.process.processIdentifier, SIGKILL)
            p.process.waitUntilExit()
            if FileManager.default.fileExists(atPath: store) { _ = try EmbeddingStore(opening: store) }
        }

        let clean = Paths.temporaryDirectory("interrupt") + "/store"
        let p = try Self.start([videos, "-o", clean])
        // Wait for the first committed video, then press Ctrl-C.
        var waited = 0
        while waited < 300, (try? EmbeddingStore(opening: clean).count) ?? 0 == 0 {
            usleep(20_000)
            waited += 1
        }
        kill(p.process.processIdentifier, SIGINT)
        p.process.waitUntilExit()
        let out = String(decoding: p.stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let summary =
            try JSONSerialization.jsonObject(with: Data(out.split(separator: "\n").last!.utf8)) as! [String: Any]
        let before = try EmbeddingStore(opening: clean).count
        if p.process.terminationStatus == 130 {
            #expect(summary["interrupted"] as? Bool == true)
            #expect((1..<6).contains(before))
        } else {
            #expect(before == 6)  // it finished before the signal arrived
        }
        let rerun = try ShortVideos.embed([videos, "-o", clean])
        #expect(rerun.status == 0)
        #expect(
            rerun.text.contains("\"embedded\":\(6 - before)") && rerun.text.contains("\"skipped\":\(before)"),
            "\(rerun.text)")
        #expect(try EmbeddingStore(opening: clean).count == 6)
    }

    @Test("--shard i/n splits a folder into disjoint, complete parts; merge joins them; merge refuses another model")
    func shardsAndMerge() throws {
        let videos = try ShortVideos.folder()
        let dir = Paths.temporaryDirectory("shards")
        let whole = dir + "/whole"
        #expect(try ShortVideos.embed([videos, "-o", whole]).status == 0)
        var parts: [[String]] = []
        for i in 0..<3 {
            let r = try ShortVideos.embed([videos, "-o", dir + "/part\(i)", "--shard", "\(i)/3"])
            #expect(r.status == 0, "\(r.stderr)")
            parts.append(try EmbeddingStore(opening: dir + "/part\(i)").items.map(\.id))
        }
        #expect(Set(parts.flatMap { $0 }).count == parts.map(\.count).reduce(0, +))
        #expect(Set(parts.flatMap { $0 }) == Set(try EmbeddingStore(opening: whole).items.map(\.id)))

        let merged = try run(
            Paths.decouple, ["store", "merge", dir + "/part0", dir + "/part1", dir + "/part2", "-o", dir + "/merged"])
        #expect(merged.status == 0 && merged.text.contains("6 rows from 3 stores"), "\(merged.stderr)")
        #expect(try ShortVideos.rows(dir + "/merged") == (try ShortVideos.rows(whole)))

        let c3d = try run(
            Paths.decouple,
            [
                "embed", videos + "/a/clip_0.mp4", "-o", dir + "/c3d", "--model", "c3d", "--random-weights", "--config",
                "channels=4,4,4,4,8", "--crop", "56", "--short-side", "64", "--clips", "1",
            ])
        #expect(c3d.status == 0, "\(c3d.stderr)")
        let refused = try run(Paths.decouple, ["store", "merge", whole, dir + "/c3d", "-o", dir + "/mixed"])
        #expect(
            refused.status == 1 && refused.stderr.contains("cannot be merged")
                && refused.stderr.contains("model c3d, not r2p1d-26"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/mixed"))
        let usage = try ShortVideos.embed([videos, "-o", dir + "/x", "--shard", "3/3"])
        #expect(usage.status == 64)
    }

    static func start(_ arguments: [String]) throws -> (process: Process, stdout: Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.decouple)
        p.arguments = ["embed"] + arguments + ShortVideos.model
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return (p, out)
    }
}
