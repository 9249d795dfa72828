import MediaIO
import TestSupport
import Testing
import VideoData

@Suite("Bad input gets one clear sentence")
struct BadInputTests {
    /// Opening and probing a refused input throws a MediaError naming the file, or (for the
    /// MV-less cases that do open) the probe says why there are no vectors.
    @Test("refused inputs", arguments: try BadInputs.refused())
    func refused(_ c: BadInputs.Case) throws {
        var sentence: String
        do {
            let report = try ProbeReport(path: c.path)
            let problem = try #require(report.motionProblem, "\(c.name) was accepted")
            sentence = MediaError(path: c.path, problem: problem).description
        } catch let e as MediaError {
            sentence = e.description
        }
        #expect(sentence.hasPrefix("'\(c.path)' "), "\(sentence)")
        #expect(sentence.hasSuffix("."))
        #expect(!sentence.dropLast().contains("\n"))
        for phrase in c.expected { #expect(sentence.contains(phrase), "\(c.name): \(sentence)") }
    }

    @Test("a truncated file still yields the frames before the cut")
    func truncatedYieldsFrames() throws {
        let mp4 = try BadInputs.truncatedFaststart()
        let report = try ProbeReport(path: mp4)
        #expect(report.motion.frames > 30 && report.motion.frames < 60)
        #expect(report.warnings.contains { $0.contains("cut short") })
        #expect(report.motionProblem == nil)
        let mkv = try BadInputs.truncatedMatroska()
        let r2 = try ProbeReport(path: mkv)
        #expect(r2.motion.frames > 30 && r2.motion.frames < 60)
        // The frames before the cut equal those of the whole file.
        let reader = try VideoReader(path: mkv)
        var n = 0
        while let f = try reader.next() {
            #expect(f.info.index == n)
            n += 1
        }
        #expect(n == r2.motion.frames)
    }

    @Test("MPEG-4 Part 2 exports half-pel vectors and is accepted")
    func mpeg4() throws {
        let path = try TestVideos.generated("mpeg4.avi") { out in
            try runChecked(
                "ffmpeg",
                [
                    "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "30",
                    "-c:v", "mpeg4", out,
                ])
        }
        let report = try ProbeReport(path: path)
        #expect(report.motionProblem == nil)
        #expect(report.motion.motionScales == [2])
    }

    /// Found by the video fuzz harness (`make fuzz`): 21 bytes of raw H.264 whose broken SPS
    /// leaves the picture size 0x0; extract trapped building a motion field of that size.
    @Test("a stream without a picture size is refused in one sentence (fuzz regression)")
    func noPictureSize() throws {
        let path = Paths.root + "/Fuzz/corpus/video/regression-no-picture-size"
        #expect {
            _ = try VideoReader(path: path)
        } throws: { "\($0)".contains("has a video stream without a picture size (0x0): its headers are damaged") }
    }

    /// A raw H.264 stream has no timestamps at all. Frame times were `Int64.min` scaled (and the
    /// subtraction trapped when the first packet's key was positive); they now follow the order.
    @Test("frames of a raw H.264 stream (no timestamps) get their times from their order")
    func rawStreamTimes() throws {
        let reader = try VideoReader(path: Paths.root + "/Fuzz/corpus/video/raw.h264")
        var times: [Double] = []
        while let frame = try reader.next() {
            #expect(frame.info.pts == nil)
            times.append(frame.info.time)
        }
        #expect(times.count == 8)
        #expect(times.enumerated().allSatisfy { abs($1 - Double($0) / reader.info.fps) < 1e-9 }, "\(times)")
    }

    /// Found by the video fuzz harness under AddressSanitizer: an AVI whose decoder refuses to
    /// open. The decoder freed its context and frame, then its deinit freed them again.
    @Test("a stream whose decoder will not open is refused in one sentence, freed once (fuzz regression)")
    func decoderOpenFails() throws {
        let path = Paths.root + "/Fuzz/corpus/video/regression-decoder-open-double-free"
        for _ in 0..<3 {
            #expect {
                _ = try VideoReader(path: path)
            } throws: { "\($0)".contains("could not open its video decoder") }
        }
    }
}
