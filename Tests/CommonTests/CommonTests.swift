import Common
import Foundation
import TestSupport
import Testing

@Suite("Common: the atomic write, cosine, JSON strings, resources, pipelined work")
struct CommonTests {
    @Test("pipelined: results consumed in order whatever order they finish in, items in flight at once, a stop")
    func pipelinedOrder() throws {
        for inFlight in [1, 2, 3] {
            let log = Locked<[String]>([])
            var consumed: [Int] = []
            // Later items finish first when several run at once.
            pipelined(
                count: 7, inFlight: inFlight,
                work: { i in
                    log.value.append("start \(i)")
                    Thread.sleep(forTimeInterval: Double(7 - i) * 0.002)
                    return i * i
                }
            ) { i, square in
                #expect(square == i * i)
                consumed.append(i)
                log.value.append("consume \(i)")
                return true
            }
            #expect(consumed == Array(0..<7))
            if inFlight == 1 {
                // Each item starts only after the one before was consumed.
                #expect(log.value == (0..<7).flatMap { ["start \($0)", "consume \($0)"] })
            }
        }
        // Two at once: item 0 finishes only once item 1 has started (with one at a time it would
        // wait out its timeout instead).
        let second = DispatchSemaphore(value: 0)
        let overlapped = Locked(false)
        pipelined(
            count: 2, inFlight: 2,
            work: { i in
                if i == 1 { second.signal() } else { overlapped.value = second.wait(timeout: .now() + 10) == .success }
            }
        ) { _, _ in true }
        #expect(overlapped.value)
        // A stop: nothing is consumed after it, and no item starts more than 4 · inFlight
        // items past it.
        let started = Locked<Set<Int>>([])
        var last = -1
        pipelined(count: 100, inFlight: 2, work: { i in started.value.insert(i) }) { i, _ in
            last = i
            return i < 3
        }
        #expect(last == 3 && started.value.max()! < 3 + 1 + 8)
        // An error thrown by consume comes out of the call.
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try pipelined(count: 5, inFlight: 2, work: { $0 }) { i, _ in
                if i == 2 { throw Stop() }
                return true
            }
        }
    }

    @Test("an atomic write replaces the file whole and leaves no temporary behind")
    func atomicWrite() throws {
        let dir = Paths.temporaryDirectory("atomic")
        let path = dir + "/card.json"
        try AtomicFile.write(Data("old".utf8), to: path)
        try AtomicFile.write(Data("new content".utf8), to: path)
        #expect(FileManager.default.contents(atPath: path) == Data("new content".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["card.json"])
    }

    @Test("a crash between the write and the rename leaves the old file whole")
    func crashBeforeRename() throws {
        let dir = Paths.temporaryDirectory("atomic-crash")
        let path = dir + "/weights.bin"
        let old = Data((0..<4096).map { UInt8($0 % 251) })
        try AtomicFile.write(old, to: path)
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try AtomicFile.write(Data(repeating: 7, count: 10_000), to: path) {
                // The moment a crash would hit: the new bytes are complete and flushed beside
                // the target, the target itself is untouched.
                let names = try FileManager.default.contentsOfDirectory(atPath: dir)
                let temporary = try #require(names.first { $0.hasSuffix(".tmp") })
                #expect(FileManager.default.contents(atPath: dir + "/" + temporary)?.count == 10_000)
                #expect(FileManager.default.contents(atPath: path) == old)
                throw Crash()
            }
        }
        #expect(FileManager.default.contents(atPath: path) == old)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["weights.bin"])
    }

    @Test("a write into a missing folder is one sentence naming the file")
    func unwritable() {
        let path = Paths.temporaryDirectory("atomic-missing") + "/no/such/folder/x.json"
        #expect(throws: FileWriteError.self) { try AtomicFile.write(Data("x".utf8), to: path) }
        do { try AtomicFile.write(Data("x".utf8), to: path) } catch {
            #expect("\(error)".hasPrefix("'\(path)' could not be written ("))
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("cosine: parallel 1, opposite -1, orthogonal 0, zero vector 0")
    func cosines() {
        #expect(abs(cosine([1, 2, 3], [2, 4, 6]) - 1) < 1e-6)
        #expect(abs(cosine([1, 2, 3], [-1, -2, -3]) + 1) < 1e-6)
        #expect(cosine([1, 0], [0, 5]) == 0)
        #expect(cosine([0, 0], [1, 1]) == 0)
    }

    @Test("JSON strings escape quotes, backslashes and control characters and parse back")
    func jsonStrings() throws {
        let s = "a \"quoted\" \\ path\nwith\ttabs \u{01} and é"
        let quoted = jsonQuoted(s)
        let parsed = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        #expect(parsed == [s])
        #expect(jsonQuoted("\u{1f}") == "\"\\u001f\"")
    }

    @Test(
        "resources: the working directory is searched, each folder once, and the checkout is found from the test binary"
    )
    func resources() {
        let dirs = Resources.searchDirectories
        #expect(dirs.contains(FileManager.default.currentDirectoryPath))
        #expect(Set(dirs).count == dirs.count)
        // The test bundle runs from .build/<triple>/debug: the checkout is among the ancestors.
        #expect(Resources.find("weights/default.json") != nil)
    }
}

@Suite("parentDirectory: the folder a path names")
struct ParentDirectoryTests {
    @Test(
        "bare names, the root, trailing and doubled slashes (NSString.deletingLastPathComponent traps on \"s\")",
        arguments: [
            ("s", "."), ("s/", "."), ("run", "."), ("a/s", "a"), ("a//s", "a"), ("/s", "/"), ("/", "/"),
            ("/tmp/x/y.json", "/tmp/x"), ("./w.safetensors", "."), ("../w", ".."),
        ])
    func parent(path: String, expected: String) {
        #expect(parentDirectory(path) == expected)
    }
}

@Suite("VideoFiles: the one video discovery")
struct VideoFilesTests {
    @Test(
        "folders are searched recursively by extension, hidden entries skipped, sorted; ids and shard keys are paths below the folder"
    )
    func collect() throws {
        let dir = Paths.temporaryDirectory("video-files")
        let fm = FileManager.default
        for sub in ["a", "b/c", ".hidden", "empty"] {
            try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        for f in ["b/c/z.MP4", "a/y.mkv", "x.webm", "notes.txt", ".hidden/h.mp4", "a/.dot.mp4"] {
            #expect(fm.createFile(atPath: dir + "/" + f, contents: Data()))
        }
        let found = VideoFiles.collect([dir, dir + "/x.webm", dir + "/missing.mp4", dir + "/empty"])
        #expect(found.files.map(\.id) == ["a/y", "b/c/z", "x", "x"])
        #expect(found.files.map(\.shardKey) == ["a/y.mkv", "b/c/z.MP4", "x.webm", dir + "/x.webm"])
        #expect(found.files[0].path == dir + "/a/y.mkv")
        #expect(found.missing == [dir + "/missing.mp4"])
        #expect(found.emptyFolders == [dir + "/empty"])
    }
}
