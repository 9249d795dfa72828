import Common
import Foundation
import TestSupport
import Testing

@Suite("Common: the atomic write, cosine, JSON strings, resources")
struct CommonTests {
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
