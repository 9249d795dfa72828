import Common
import Foundation
import VideoData

/// The frames of one scene, read in order from its first frame, at its source's planned size:
/// a decoder in the CLI (`MediaIO.VideoReader`).
public protocol SceneFrames {
    /// The next frame. Throws (one sentence naming the file) when the video ends early.
    func next() throws -> RGBImage
}

/// What `camera.json` holds: the options, the classes, the sources, every scene with its home
/// class, and every video with its scene and camera path.
public struct CameraManifest: Encodable {
    public struct Scene: Encodable {
        public var name: String
        public var source: String
        public var start: Int
        public var home: String
    }

    public struct Video: Encodable {
        public var path: String
        public var label: String
        public var split: String
        public var scene: String
        public var speed: Double
        /// The crop window (x, y, width, height in decoded source pixels) at the first and
        /// last frames.
        public var first: [Double]
        public var last: [Double]
    }

    public var options: CameraOptions
    public var classes: [String: String]
    public var sources: [CameraSource]
    public var scenes: [Scene]
    public var videos: [Video]

    public init(_ plan: CameraPlan) {
        options = plan.options
        classes = Dictionary(uniqueKeysWithValues: plan.options.classes.map { ($0.rawValue, $0.summary) })
        sources = plan.sources
        scenes = plan.scenes.map {
            Scene(
                name: $0.name(plan.sources), source: plan.sources[$0.source].name, start: $0.start,
                home: $0.home.rawValue)
        }
        videos = plan.videos.map { v in
            Video(
                path: v.relativePath, label: v.label.rawValue, split: v.split.rawValue,
                scene: plan.scenes[v.scene].name(plan.sources), speed: (v.path.speed * 10_000).rounded() / 10_000,
                first: v.path.window(frame: 0).rounded, last: v.path.window(frame: plan.options.frames - 1).rounded)
        }
    }
}

/// Writes a planned camera-move set: each scene decoded once and every video over it rendered
/// frame by frame into its own sink, then `labels.csv` and `camera.json`, all in a folder
/// beside `output` that is renamed into place when complete, so a failed or interrupted run
/// leaves no half-written set.
public struct CameraSetWriter {
    public var plan: CameraPlan
    /// Scenes rendered side by side.
    public var jobs: Int

    public init(plan: CameraPlan, jobs: Int) {
        self.plan = plan
        self.jobs = jobs
    }

    /// - Parameters:
    ///   - openScene: the frames of a source (by index into `plan.sources`) from a frame on.
    ///   - open: a sink for the video at a path, of the plan's width and height.
    ///   - progress: called with the number of videos written so far.
    /// - Throws: the first failure of a scene or a video, or of the folder; `output` is then
    ///   untouched.
    public func write(
        to output: String, openScene: @escaping @Sendable (_ source: Int, _ start: Int) throws -> SceneFrames,
        open: @escaping @Sendable (String) throws -> FrameSink, progress: @escaping @Sendable (Int) -> Void
    ) throws {
        let work = output + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: work)
        defer { try? FileManager.default.removeItem(atPath: work) }
        for split in SynthSplit.allCases {
            try FileManager.default.createDirectory(
                atPath: work + "/" + split.rawValue, withIntermediateDirectories: true)
        }
        let plan = self.plan
        let options = plan.options
        // One decoding pass per scene feeds all its videos: the footage is decoded once, and
        // memory holds one source frame plus one small encoder per video.
        let byScene = Dictionary(grouping: plan.videos.indices, by: { plan.videos[$0].scene })
        let order = byScene.keys.sorted()
        let done = ProgressCounter()
        let failed = AtomicFlag()
        let results = runConcurrently(count: order.count, jobs: jobs) { n -> Result<Void, Error> in
            // After a failure the other scenes are skipped: the first error is the one shown.
            guard !failed.isSet else { return .success(()) }
            let result = Result {
                let scene = plan.scenes[order[n]]
                let mine = byScene[order[n]]!
                let frames = try openScene(scene.source, scene.start)
                let sinks = try mine.map { try open(work + "/" + plan.videos[$0].relativePath) }
                for f in 0..<options.frames {
                    let image = try frames.next()
                    for (k, v) in mine.enumerated() {
                        try sinks[k].append(
                            CropRenderer.render(
                                image, window: plan.videos[v].path.window(frame: f), width: options.width,
                                height: options.height))
                    }
                }
                for s in sinks { try s.finish() }
                done.add(mine.count)
                progress(done.current)
            }
            if case .failure = result { failed.set() }
            return result
        }
        for r in results { try r.get() }
        try AtomicFile.write(Data(plan.labelsCSV.utf8), to: work + "/labels.csv")
        try AtomicFile.write(Data(Console.json(CameraManifest(plan)).utf8), to: work + "/camera.json")
        if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }
        try AtomicFile.commit(work, to: output)
    }
}
