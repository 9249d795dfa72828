import Foundation
import TestSupport
import Testing
import VideoData

/// Runs the built `decouple` binary like a user would.
func decouple(_ args: String...) throws -> ProcessOutput { try run(Paths.decouple, args) }

@Suite("decouple probe / extract (the binary)")
struct ProbeExtractCLITests {
    static let sample = Paths.asset("videos/tears_320x240.mp4")

    @Test("probe prints the summary; --json parses and agrees with ffprobe's frame count")
    func probe() throws {
        let text = try decouple("probe", Self.sample)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.text.contains("frames      240 decoded, 240 packets"))
        #expect(text.text.contains("types       I 2  P 71  B 167"))
        let json = try decouple("probe", "--json", Self.sample)
        let obj = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        let info = try #require(obj["info"] as? [String: Any])
        let motion = try #require(obj["motion"] as? [String: Any])
        #expect(info["frame_count"] as? Int == (try FFmpegReference.frameTypes(Self.sample)).count)
        #expect(info["codec"] as? String == "h264")
        #expect(motion["b_frames"] as? Int == 167)
        #expect((motion["vectors"] as? Int ?? 0) > 100_000)
    }

    @Test(
        "extract killed at every step leaves no output or the whole of it, and runs again; a one-letter relative output works"
    )
    func extractKilled() throws {
        let base = Paths.temporaryDirectory("extract-crash")
        let arguments = ["extract", Self.sample, "--frames", "0:40", "-o"]
        // video.json records the output's name and the time taken; every other file is compared whole.
        func files(_ dir: String) throws -> [String: Data] {
            let all = try CrashTests.files(dir)
            #expect(all["video.json"] != nil)
            return all.filter { $0.key != "video.json" }
        }
        #expect(try run(Paths.decouple, arguments + [base + "/reference"]).status == 0)
        let reference = try files(base + "/reference")
        #expect(reference.count >= 5)
        let out = base + "/out"
        let kills = try CrashTests.killAtEveryStep(
            arguments + [out], prepare: { try? FileManager.default.removeItem(atPath: out) }
        ) { n in
            if FileManager.default.fileExists(atPath: out) {
                #expect(try files(out) == reference, "after a kill at point \(n)")
            }
            // Besides the output, at most the killed run's work folder is left.
            let left = try FileManager.default.contentsOfDirectory(atPath: base)
            #expect(left.allSatisfy { ["reference", "out"].contains($0) || $0.hasPrefix("out.partial-") }, "\(left)")
            #expect(try run(Paths.decouple, arguments + [out, "--force"]).status == 0)
            #expect(try files(out) == reference, "run again after a kill at point \(n)")
        }
        #expect(kills >= 4, "\(kills) crash points")
        // A bare one-letter output in the working folder: Foundation's deletingLastPathComponent
        // trapped on "s" when the folder was flushed after the rename.
        let relative = try run(
            Paths.decouple, ["extract", Self.sample, "--frames", "0:10", "-o", "s"], directory: base)
        #expect(relative.status == 0, "\(relative.stderr)")
        #expect(FileManager.default.fileExists(atPath: base + "/s/video.json"))
    }

    @Test("extract writes PNG keyframes, CSV equal to FFmpeg's, npy fields, frames.jsonl, video.json")
    func extract() throws {
        let out = Paths.temporaryDirectory("extract") + "/out"
        let r = try decouple("extract", Self.sample, "-o", out)
        #expect(r.status == 0, "\(r.stderr)")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out))
        #expect(files == ["keyframes", "mvs.csv", "motion.npy", "motion_mask.npy", "frames.jsonl", "video.json"])
        let pngs = try FileManager.default.contentsOfDirectory(atPath: out + "/keyframes").sorted()
        let types = try FFmpegReference.frameTypes(Self.sample)
        let iFrames = types.indices.filter { types[$0].type == "I" }
        #expect(pngs == iFrames.map { String(format: "frame_%06d.png", $0) })
        let png = try Data(contentsOf: URL(fileURLWithPath: out + "/keyframes/" + pngs[0]))
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        // The CSV is byte-identical to the reference tool's output.
        let csv = try String(contentsOfFile: out + "/mvs.csv", encoding: .utf8)
        let reference = try FFmpegReference.mvsCSV(Self.sample).joined(separator: "\n") + "\n"
        #expect(csv == reference)
        // NPY shapes and sizes: 240 frames of 80x60 cells.
        let field = try Data(contentsOf: URL(fileURLWithPath: out + "/motion.npy"))
        let header = try #require(NPY.parseHeader([UInt8](field.prefix(256))))
        #expect(header.dtype == "<f4" && header.shape == [240, 2, 60, 80])
        #expect(field.count == header.dataOffset + 240 * 2 * 60 * 80 * 4)
        let mask = try Data(contentsOf: URL(fileURLWithPath: out + "/motion_mask.npy"))
        #expect(NPY.parseHeader([UInt8](mask.prefix(256)))?.shape == [240, 60, 80])
        let lines = try String(contentsOfFile: out + "/frames.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 240)
        for (i, line) in lines.enumerated() {
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(obj["index"] as? Int == i)
            #expect(obj["type"] as? String == types[i].type)
        }
        // Values stay inside [-1, 1] and I-frames are all zero.
        field.withUnsafeBytes { raw in
            let floats = raw.baseAddress!.advanced(by: header.dataOffset).assumingMemoryBound(to: Float.self)
            let n = 240 * 2 * 60 * 80
            #expect((0..<n).allSatisfy { abs(floats[$0]) <= 1 })
            #expect((0..<(2 * 60 * 80)).allSatisfy { floats[$0] == 0 })
            #expect((0..<n).contains { floats[$0] != 0 })
        }
        // Nothing but the finished directory is left (no .partial or .tmp names).
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: (out as NSString).deletingLastPathComponent) == ["out"])
    }

    @Test("--frames limits the range; one job and two jobs give identical files")
    func framesAndJobs() throws {
        let dir = Paths.temporaryDirectory("frames")
        let video = try TestVideos.testsrc(width: 340, height: 256, bFrames: true, gop: 12, frames: 240)
        let one = try decouple("extract", video, "-o", dir + "/one", "--frames", "30:200", "--jobs", "1", "--cell", "8")
        let two = try decouple("extract", video, "-o", dir + "/two", "--frames", "30:200", "--jobs", "2", "--cell", "8")
        #expect(one.status == 0 && two.status == 0, "\(one.stderr) \(two.stderr)")
        #expect(two.text.contains("2 segments"))
        for file in ["mvs.csv", "motion.npy", "motion_mask.npy", "frames.jsonl"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/one/" + file))
            let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/two/" + file))
            #expect(a == b, "\(file) differs between 1 and 2 jobs")
        }
        let lines = try String(contentsOfFile: dir + "/one/frames.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 170)
        #expect(lines.first?.hasPrefix("{\"index\":30,") == true)
        let csv = try String(contentsOfFile: dir + "/one/mvs.csv", encoding: .utf8).split(separator: "\n")
        let numbers = Set(csv.dropFirst().map { Int($0.split(separator: ",")[0])! })
        #expect(numbers.min()! >= 31 && numbers.max()! <= 200)
    }

    @Test("several videos go to DIR/<name>/ and use both cores")
    func severalVideos() throws {
        let dir = Paths.temporaryDirectory("many") + "/out"
        let a = try TestVideos.testsrc(width: 320, height: 240, bFrames: true, gop: 12)
        let r = try decouple("extract", Self.sample, a, "-o", dir, "--fields", "qpel", "--keyframes", "key")
        #expect(r.status == 0, "\(r.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(
            names == [((a as NSString).lastPathComponent as NSString).deletingPathExtension, "tears_320x240"].sorted())
        let field = try Data(contentsOf: URL(fileURLWithPath: dir + "/tears_320x240/motion.npy"))
        #expect(NPY.parseHeader([UInt8](field.prefix(256)))?.dtype == "<i2")
    }

    @Test(
        "bad inputs: one sentence on stderr naming the file, exit 1, no output left behind",
        arguments: try BadInputs.refused())
    func badInput(_ c: BadInputs.Case) throws {
        for command in ["probe", "extract"] {
            let out = Paths.temporaryDirectory("bad") + "/out"
            let r = command == "probe" ? try decouple("probe", c.path) : try decouple("extract", c.path, "-o", out)
            #expect(r.status == 1, "\(command) \(c.name): exit \(r.status)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(command) \(c.name): \(r.stderr)")
            #expect(r.stderr.hasPrefix("decouple: '\(c.path)' "))
            for phrase in c.expected { #expect(r.stderr.contains(phrase), "\(command) \(c.name): \(r.stderr)") }
            #expect(!FileManager.default.fileExists(atPath: out))
            let leftovers = try FileManager.default.contentsOfDirectory(
                atPath: (out as NSString).deletingLastPathComponent)
            #expect(leftovers.isEmpty, "\(command) \(c.name) left \(leftovers)")
        }
    }

    @Test("an existing output needs --force; usage errors exit 64")
    func existingOutputAndUsage() throws {
        let out = Paths.temporaryDirectory("exists")
        let r = try decouple("extract", Self.sample, "-o", out)
        #expect(r.status == 1 && r.stderr.contains("already exists"))
        let f = try decouple("extract", Self.sample, "-o", out, "--force", "--frames", "0:10")
        #expect(f.status == 0, "\(f.stderr)")
        #expect(try decouple("extract", Self.sample, "-o", out, "--cell", "3").status == 64)
        #expect(try decouple("extract", Self.sample, "-o", out, "--frames", "9:3").status == 64)
        #expect(try decouple("probe").status == 64)
    }
}
