import Foundation
import Testing
import VideoData

@Suite("CSV, NPY, frame ranges, segments, statistics")
struct FormatTests {
    @Test("CSV rows have extract_mvs.c's printf padding and parse back")
    func csv() {
        let v = MotionVector(
            source: -1, w: 16, h: 8, srcX: -3, srcY: 120, dstX: 8, dstY: 124, flags: 0, motionX: -45, motionY: -17,
            motionScale: 4)
        let row = MotionCSV.row(frameNumber: 12, v)
        #expect(row == "12,-1,16, 8,  -3, 120,   8, 124,0x0, -45, -17,   4")
        let back = MotionCSV.parse(Substring(row))
        #expect(back?.frameNumber == 12 && back?.vector == v)
        #expect(MotionCSV.parse("1,2,3") == nil)
        let big = MotionVector(
            source: 1, w: 8, h: 8, srcX: 12345, srcY: -12345, dstX: 0, dstY: 0, flags: 255, motionX: 100000,
            motionY: -7, motionScale: 4)
        #expect(MotionCSV.row(frameNumber: 1, big) == "1, 1, 8, 8,12345,-12345,   0,   0,0xff,100000,  -7,   4")
    }

    @Test("NPY headers are 64-byte aligned and parse back")
    func npy() throws {
        let h = NPY.header(dtype: .float32, shape: [7, 2, 60, 80])
        #expect(h.count % 64 == 0)
        #expect(h.last == UInt8(ascii: "\n"))
        let parsed = try #require(NPY.parseHeader(h))
        #expect(parsed.dtype == "<f4" && parsed.shape == [7, 2, 60, 80] && parsed.dataOffset == h.count)
        let one = NPY.header(dtype: .uint8, shape: [5])
        #expect(NPY.parseHeader(one)?.shape == [5])
        let reserved = NPY.header(dtype: .int16, shape: [3, 4], reserveDigits: 12)
        #expect(reserved.count == NPY.header(dtype: .int16, shape: [123_456_789_012, 4], reserveDigits: 12).count)
        #expect(NPY.parseHeader(reserved)?.shape == [3, 4])
        #expect(NPY.parseHeader(Array("not npy".utf8)) == nil)
    }

    @Test("frame ranges parse like Python slices")
    func ranges() {
        #expect(FrameRange(parsing: "10:20") == FrameRange(start: 10, end: 20))
        #expect(FrameRange(parsing: "10:") == FrameRange(start: 10, end: nil))
        #expect(FrameRange(parsing: ":20") == FrameRange(start: 0, end: 20))
        #expect(FrameRange(parsing: "7") == FrameRange(start: 7, end: 8))
        #expect(FrameRange(parsing: "20:10") == nil)
        #expect(FrameRange(parsing: "-1:") == nil)
        #expect(FrameRange(parsing: "a:b") == nil)
        #expect(FrameRange(start: 5, end: 100).clamped(to: 50) == 5..<50)
        #expect(FrameRange(start: 60).clamped(to: 50).isEmpty)
    }

    @Test("segments start at key frames, are disjoint and cover the range")
    func segments() {
        let keys = [0, 12, 24, 36, 48, 60, 72, 84, 96]
        for parts in 1...5 {
            for range in [0..<100, 5..<95, 30..<40, 0..<12] {
                let segs = SegmentPlan.split(range, keyFrames: keys, parts: parts)
                #expect(segs.first?.lowerBound == range.lowerBound && segs.last?.upperBound == range.upperBound)
                for (a, b) in zip(segs, segs.dropFirst()) {
                    #expect(a.upperBound == b.lowerBound && keys.contains(b.lowerBound))
                }
                #expect(segs.count <= parts)
            }
        }
        #expect(SegmentPlan.split(0..<100, keyFrames: keys, parts: 2) == [0..<48, 48..<100])
        #expect(SegmentPlan.split(0..<100, keyFrames: [0], parts: 4) == [0..<100])
    }

    @Test("statistics: type counts, GOP lengths, vectors, coverage")
    func statistics() {
        var stats = MotionStatistics()
        let types: [PictureType] = [.i, .p, .b, .p, .i, .p, .p]
        for (i, t) in types.enumerated() {
            let vs = t == .i ? [] : [block(x: 0, y: 0, mx: 4, my: 0), block(x: 16, y: 0, mx: 0, my: 0, list1: t == .b)]
            let frame = VideoFrame(
                info: FrameInfo(
                    index: i, pts: Int64(i), time: Double(i), pictureType: t, isKey: t == .i, packetSize: 100),
                motionVectors: vs)
            stats.add(frame, summary: FrameMotionSummary(frame: frame, frameWidth: 32, frameHeight: 16))
        }
        let s = stats.summary
        #expect(s.frames == 7 && s.iFrames == 2 && s.pFrames == 4 && s.bFrames == 1 && s.keyFrames == 2)
        #expect(stats.gopLengths == [3, 4])
        #expect(s.vectors == 10 && s.list1 == 1 && s.zeroShare == 0.5)
        #expect(s.coverageP == 1 && s.intraShare == 0)
        #expect(s.blockSizes == ["16x16": 1])
    }
}
