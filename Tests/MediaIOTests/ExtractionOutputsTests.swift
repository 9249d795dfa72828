import MediaIO
import Testing

@Suite("extract's output folders")
struct ExtractionOutputsTests {
    @Test("one video writes into DIR itself; several into DIR/<name>, repeated names made unique")
    func outputDirectories() {
        #expect(Extraction.outputDirectories(videos: ["/v/a.mp4"], output: "out").map(\.output) == ["out"])
        let several = Extraction.outputDirectories(
            videos: ["/v/a.mp4", "/w/a.mkv", "/v/b.mp4", "/x/a.mp4"], output: "out")
        #expect(several.map(\.output) == ["out/a", "out/a_2", "out/b", "out/a_3"])
        #expect(several.map(\.path) == ["/v/a.mp4", "/w/a.mkv", "/v/b.mp4", "/x/a.mp4"])
    }
}
