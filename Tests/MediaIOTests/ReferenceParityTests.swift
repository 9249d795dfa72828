import Foundation
import MediaIO
import TestSupport
import Testing
import VideoData

/// Motion vectors and frame types against FFmpeg's own output (a separate C program reading
/// the side data, and ffprobe), frame by frame, field by field.
@Suite("Parity with FFmpeg's side data and ffprobe")
struct ReferenceParityTests {
    static var videos: [String] {
        get throws {
            var list = try ["bigbuckbunny_720p.mp4", "friday_480p.mp4", "tears_320x240.mp4"].map {
                Paths.asset("videos/" + $0)
            }
            for (w, h) in [(320, 240), (340, 256), (642, 362)] {
                for gop in [12, 250] {
                    for b in [false, true] {
                        list.append(try TestVideos.testsrc(width: w, height: h, bFrames: b, gop: gop))
                    }
                }
            }
            return list
        }
    }

    /// Decodes with our reader: per frame (in output order) the info and vectors.
    static func decodeAll(_ path: String) throws -> [VideoFrame] {
        let reader = try VideoReader(path: path)
        var frames: [VideoFrame] = []
        while let f = try reader.next() { frames.append(f) }
        return frames
    }

    @Test("vectors equal FFmpeg's side data on every frame", arguments: try videos)
    func vectorsMatch(path: String) throws {
        let frames = try Self.decodeAll(path)
        var expected: [Int: [MotionVector]] = [:]
        let lines = try FFmpegReference.mvsCSV(path)
        #expect(lines.first.map(String.init) == MotionCSV.header)
        for line in lines.dropFirst() {
            let row = try #require(MotionCSV.parse(line), "unparsable reference row \(line)")
            expected[row.frameNumber, default: []].append(row.vector)
        }
        #expect(frames.count == (try VideoReader(path: path)).info.frameCount)
        var vectors = 0
        for (n, frame) in frames.enumerated() {
            #expect(frame.info.index == n, "frame \(n) of \(path) has index \(frame.info.index)")
            let want = expected[n + 1] ?? []
            #expect(
                frame.motionVectors == want,
                "frame \(n) of \(path): \(frame.motionVectors.count) vectors, reference \(want.count)")
            vectors += want.count
        }
        #expect(vectors > 0)
        #expect(expected.keys.allSatisfy { $0 >= 1 && $0 <= frames.count })
    }

    @Test("frame types and key flags equal ffprobe -show_frames", arguments: try videos)
    func frameTypesMatch(path: String) throws {
        let ours = try Self.decodeAll(path).map { ($0.info.pictureType.rawValue, $0.info.isKey) }
        let theirs = try FFmpegReference.frameTypes(path)
        #expect(ours.count == theirs.count)
        for (i, (a, b)) in zip(ours, theirs).enumerated() {
            #expect(a.0 == b.type && a.1 == b.key, "frame \(i) of \(path): ours \(a), ffprobe \(b)")
        }
    }

    @Test("the team's shared videos match too, when present")
    func sharedMedia() throws {
        guard let dir = Paths.sharedMedia else { return }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/videos").filter { $0.hasSuffix(".mp4") }
            .sorted()
        #expect(!names.isEmpty)
        for name in names {
            let path = dir + "/videos/" + name
            try vectorsMatch(path: path)
            try frameTypesMatch(path: path)
        }
    }
}
