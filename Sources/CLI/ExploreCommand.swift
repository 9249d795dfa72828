import Common
import ArgumentParser
import Embed
import Explorer
import Foundation
import MediaIO
import Models
import VideoData

extension CursesTerminal.ColorChoice: ExpressibleByArgument {}

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Step through videos in the terminal: keyframes as thumbnails, motion vectors as arrows, clip embeddings.",
        discussion: """
            With no argument it opens the bundled sample videos. Directories are searched for \
            video files. Press ? inside for the keys. Thumbnails use half blocks with 256 colours, \
            dithered 8/16 colours, coloured cells without UTF-8, or an ASCII ramp without colour \
            (NO_COLOR, --color never); --ascii avoids the block and arrow glyphs, which some \
            CJK-configured terminals draw two columns wide. While the screen is in use, messages \
            on stderr go to a log file (--log).

            Batch mode runs the same state machine without a terminal and prints the final screen: \
            keys are literal characters plus <Left> <Right> <Up> <Down> <S-Left> <S-Right> <Tab> \
            <S-Tab> <Enter> <Esc> <Space> <F1> <C-c> <resize:WxH> <wait>.

            Example: decouple explore --batch --size 120x40 --keys '..]e' assets/videos/tears_320x240.mp4
            """
    )

    @Argument(help: "Videos or directories (default: the bundled samples).")
    var inputs: [String] = []

    @Flag(help: "Run without a terminal and print the final screen.")
    var batch = false

    @Option(help: "Batch screen size, WIDTHxHEIGHT.")
    var size = "120x40"

    @Option(help: "Batch key script (see above).")
    var keys = ""

    @Flag(help: "Batch: print the state as JSON instead of the screen.")
    var json = false

    @Option(help: "Colour: auto (honours NO_COLOR), always or never.")
    var color = CursesTerminal.ColorChoice.auto

    @Option(help: "Batch: colours to render with (256, 16, 8 or 0).")
    var colors = 256

    @Flag(help: "ASCII only: no block or arrow glyphs.")
    var ascii = false

    @Option(help: "Where stderr goes while the screen is in use.")
    var log = NSTemporaryDirectory() + "decouple-explore.log"

    @Option(help: "Model for the e key: r2p1d-26, r3d-26 or c3d.")
    var model = "r2p1d-26"

    @Option(help: "Overrides for a narrow model, e.g. \"planes=16,32,64,128 stem=16\".")
    var config = ""

    @Option(help: "Weights: .safetensors or a torch.save checkpoint (default: weights/<model>.safetensors).")
    var weights: String?

    @Option(help: "Key prefix of the backbone inside the weights file.")
    var prefix: String?

    @Flag(help: "Use an untrained, randomly initialised model (labelled as such).")
    var randomWeights = false

    @Option(help: "Seed of --random-weights.")
    var seed: UInt64 = 0

    @Option(help: "Directory caching clip embeddings (default: ~/.cache/decouple/explore).")
    var cache: String?

    @Flag(help: "Do not read or write the embedding cache.")
    var noCache = false

    func validate() throws {
        guard parseSize() != nil else { throw ValidationError("--size must look like 120x40 (got \(size)).") }
        guard [0, 8, 16, 256].contains(colors) else { throw ValidationError("--colors must be 256, 16, 8 or 0.") }
        if case .failure(let e) = Key.parse(script: keys) { throw ValidationError("--keys: unknown key \(e.token).") }
        if !batch && (json || !keys.isEmpty) { throw ValidationError("--keys and --json need --batch.") }
        if randomWeights && weights != nil { throw ValidationError("give --weights or --random-weights, not both.") }
        do { _ = try BackboneConfig(modelID: model).applying(overrides: config) } catch { throw ValidationError("\(error)") }
    }

    /// The model behind `e`; it loads on first use, so a bad weights file shows up in the
    /// status bar instead of stopping the explorer.
    func embedding() throws -> ExploreEmbedding {
        var cfg = try BackboneConfig(modelID: model).applying(overrides: config)
        let choice: ModelWeights.Choice
        var view = "pooled"
        if randomWeights {
            choice = .random(seed: seed)
        } else if let weights {
            choice = .file(weights, prefix: prefix)
        } else if let (card, path) = DefaultModel.shipped(model: model, config: config) {
            // The shipped weights, with the configuration and view they were evaluated with.
            cfg = try card.backboneConfig()
            choice = .file(path, prefix: nil)
            view = card.view
        } else {
            choice = .defaultFile(directories: DefaultModel.searchDirectories)
        }
        return ExploreEmbedding(config: cfg, choice: choice, view: view, cacheDirectory: noCache ? nil : (cache ?? ExploreEmbedding.defaultCacheDirectory))
    }

    func parseSize() -> (Int, Int)? {
        let p = size.lowercased().split(separator: "x").compactMap { Int($0) }
        return p.count == 2 && p[0] > 0 && p[1] > 0 ? (p[0], p[1]) : nil
    }

    func run() throws {
        let paths = try VideoFiles.expand(inputs)
        let open: FrameReaderFactory = { path in
            // Motion vectors on, one decoder thread: exact vectors for every frame type.
            try VideoReader(path: path)
        }
        let embedding = try self.embedding()
        let interactive = isatty(0) != 0 && isatty(1) != 0
        if batch || !interactive {
            if !batch { Console.note("decouple: not a terminal, so printing one screen (see --batch for scripts).") }
            let (w, h) = parseSize()!
            var caps = Capabilities(colors: color == .never ? 0 : colors, unicode: !ascii)
            if color == .auto, !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty { caps.colors = 0 }
            let app = ExplorerApp(paths: paths, width: w, height: h, caps: caps, open: open, embedding: embedding)
            guard case .success(let script) = Key.parse(script: keys) else { throw ExitCode(64) }
            let screen = app.runBatch(keys: script)
            if json {
                let view = app.cache.get(video: app.state.current, index: app.state.cursor)
                print(Console.json(StateSnapshot(app.state, frame: view)))
            } else {
                print(screen.plainText)
            }
            return
        }
        let terminal: CursesTerminal
        do {
            terminal = try CursesTerminal(color: color, ascii: ascii, logPath: log)
        } catch {
            Console.error("cannot open the explorer: \(error)")
            throw ExitCode(1)
        }
        let (w, h) = terminal.size
        let app = ExplorerApp(paths: paths, width: w, height: h, caps: terminal.capabilities, open: open, embedding: embedding)
        let finished = app.runInteractive(terminal: terminal)
        terminal.restore()
        if let attrs = try? FileManager.default.attributesOfItem(atPath: log), (attrs[.size] as? Int ?? 0) > 0 {
            Console.note("decouple: messages from this session are in \(log)")
        }
        // Interrupted (Ctrl-C, SIGTERM): the shell convention 128 + SIGINT.
        if !finished { throw ExitCode(130) }
    }
}

/// Finds the videos to open: files as given, directories searched (one level deep and below),
/// and the bundled samples when nothing is given.
enum VideoFiles {
    static let extensions: Set<String> = ["mp4", "m4v", "mkv", "mov", "avi", "webm", "ts", "mpg", "mpeg", "h264", "264", "3gp"]

    static func expand(_ inputs: [String]) throws -> [String] {
        if inputs.isEmpty {
            guard let dir = bundledVideos() else {
                Console.error("no videos given and the bundled samples (assets/videos) were not found; pass video files or directories.")
                throw ExitCode(1)
            }
            return try expand([dir])
        }
        var out: [String] = []
        for input in inputs {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: input, isDirectory: &isDir), isDir.boolValue {
                let found = (FileManager.default.enumerator(atPath: input)?.allObjects as? [String] ?? [])
                    .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
                    .sorted()
                    .map { (input as NSString).appendingPathComponent($0) }
                if found.isEmpty {
                    Console.error("'\(input)' holds no video files (looked for \(extensions.sorted().joined(separator: ", "))).")
                    throw ExitCode(1)
                }
                out += found
            } else {
                // Missing or unreadable files are kept: the explorer reports them in its status bar.
                out.append(input)
            }
        }
        return out
    }

    /// assets/videos next to the working directory, or next to the executable's checkout.
    static func bundledVideos() -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/assets/videos"]
        if let env = ProcessInfo.processInfo.environment["DECOUPLE_ASSETS"] { candidates.insert(env + "/videos", at: 0) }
        var exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(exe.appendingPathComponent("assets/videos").path)
            exe.deleteLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}
