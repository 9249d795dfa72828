import Common
import Foundation
import VideoData

/// Where a synth video's frames go: an H.264 encoder in the CLI (`MediaIO.VideoEncoder`).
public protocol FrameSink {
    func append(_ image: RGBImage) throws
    func finish() throws
}

/// What `synth.json` holds: the options, each class's motion, the photo behind each class,
/// and every video with its label and split.
public struct SynthManifest: Encodable {
    public var options: SynthOptions
    public var classes: [String: String]
    public var classPhotos: [String: String]
    public var videos: [SynthRecord]
}

/// Writes a planned set: every video rendered frame by frame into a sink, `labels.csv` and
/// `synth.json`, all in a folder beside `output` that is renamed into place when complete, so
/// a failed or interrupted run leaves no half-written set.
public struct SynthWriter {
    public var options: SynthOptions
    public var photos: [Photo]
    /// Videos rendered side by side.
    public var jobs: Int

    public init(options: SynthOptions, photos: [Photo], jobs: Int) {
        self.options = options
        self.photos = photos
        self.jobs = jobs
    }

    /// - Parameters:
    ///   - open: a sink for the video at a path, of the set's width and height.
    ///   - progress: called with the number of videos written so far.
    /// - Throws: the first failure of a video, or of the folder; `output` is then untouched.
    public func write(
        _ videos: [SynthVideo], to output: String, open: @escaping @Sendable (String) throws -> FrameSink,
        progress: @escaping @Sendable (Int) -> Void
    ) throws {
        let work = output + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: work)
        defer { try? FileManager.default.removeItem(atPath: work) }
        for split in SynthSplit.allCases {
            try FileManager.default.createDirectory(
                atPath: work + "/" + split.rawValue, withIntermediateDirectories: true)
        }
        let done = ProgressCounter()
        let frames = options.frames
        let results = runConcurrently(count: videos.count, jobs: jobs) { i -> Result<Void, Error> in
            Result {
                let sink = try open(work + "/" + videos[i].relativePath)
                for f in 0..<frames { try sink.append(videos[i].scene.render(frame: f)) }
                try sink.finish()
                done.add(1)
                progress(done.current)
            }
        }
        for r in results { try r.get() }
        try AtomicFile.write(Data(SynthLabels.csv(videos).utf8), to: work + "/labels.csv")
        let own = SynthPlan.classPhotos(options, photos: photos)
        let manifest = SynthManifest(
            options: options,
            classes: Dictionary(uniqueKeysWithValues: options.classes.map { ($0.rawValue, $0.summary) }),
            classPhotos: Dictionary(uniqueKeysWithValues: own.map { ($0.key.rawValue, photos[$0.value].name) }),
            videos: videos.map(SynthRecord.init))
        try AtomicFile.write(Data(Console.json(manifest).utf8), to: work + "/synth.json")
        if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }
        try AtomicFile.commit(work, to: output)
    }
}
