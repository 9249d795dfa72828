import ArgumentParser
import Common
import Embed
import Explorer
import Foundation
import MediaIO
import Models
import SafeTensors
import VideoData

extension CursesTerminal.ColorChoice: ExpressibleByArgument {}

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract:
            "Step through videos in the terminal: keyframes as thumbnails, motion vectors as arrows, clip embeddings.",
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

    @Option(help: "Batch key script (see above); without --batch, keys typed at start.")
    var keys = ""

    @Flag(help: "Batch: print the state as JSON instead of the screen.")
    var json = false

    @Option(help: "Colour: auto (honours NO_COLOR), always or never.")
    var color = CursesTerminal.ColorChoice.auto

    @Option(help: "Batch: colours to render with (24bit, 256, 16, 8 or 0).")
    var colors = "256"

    @Option(
        help: """
            Pictures: auto (kitty, sixel or iTerm2 images when the terminal answers for them, \
            else symbol mosaics; symbols inside tmux), kitty, sixel, iterm, symbols, or none \
            (half blocks as before). Batch: auto means none.
            """)
    var graphics = "auto"

    @Flag(help: "Start with the motion vectors drawn over the frame (pixel modes).")
    var motionOverlay = false

    @Flag(help: "ASCII only: no block or arrow glyphs.")
    var ascii = false

    @Flag(help: "Leave the mouse to the terminal (its own text selection) instead of clicks and the wheel.")
    var noMouse = false

    @Option(help: "Where stderr goes while the screen is in use.")
    var log = NSTemporaryDirectory() + "decouple-explore.log"

    @OptionGroup(title: "Model for the e key") var modelOptions: ModelOptions

    @Option(help: "Directory caching clip embeddings (default: ~/.cache/decouple/explore).")
    var cache: String?

    @Flag(help: "Do not read or write the embedding cache.")
    var noCache = false

    @Flag(
        help: """
            Scene and motion views from hand-made descriptors (the keyframe's colour histogram, \
            the motion-vector histogram) instead of the weights' I-frame and motion-vector \
            networks; also for weights without those networks, which otherwise show the video \
            view alone.
            """)
    var descriptorViews = false

    func validate() throws {
        guard parseSize() != nil else { throw ValidationError("--size must look like 120x40 (got \(size)).") }
        guard ["0", "8", "16", "256", "24bit", "truecolor"].contains(colors) else {
            throw ValidationError("--colors must be 24bit, 256, 16, 8 or 0.")
        }
        guard graphics == "auto" || Capabilities.Graphics(rawValue: graphics) != nil else {
            throw ValidationError("--graphics must be auto, kitty, sixel, iterm, symbols or none.")
        }
        if case .failure(let e) = Key.parse(script: keys) { throw ValidationError("--keys: unknown key \(e.token).") }
        if !batch && json { throw ValidationError("--json needs --batch.") }
    }

    /// The model behind `e`; it loads on first use, so a bad weights file shows up in the
    /// status bar instead of stopping the explorer.
    func embedding() throws -> ModelEmbedding {
        let resolved = try modelOptions.resolve()
        return ModelEmbedding(
            config: resolved.config, choice: resolved.choice, view: resolved.view, rgb: resolved.rgb,
            cacheDirectory: noCache ? nil : (cache ?? ClipEmbeddingCache.defaultDirectory),
            extraViews: descriptorViews ? descriptors : try networkViews(resolved) ?? []
        ) { try VideoClipSource(path: $0, rgb: $1) }
    }

    var descriptors: [ExtraView] { DescriptorViews.make { try MotionVideoSource(path: $0) } }

    /// The scene and motion views from the weights' networks (`FILE.views.safetensors`), nil
    /// when the weights carry none (random weights, a converted ModelScope checkpoint, or an
    /// export from before they were written).
    func networkViews(_ resolved: ModelWeights.Resolved) throws -> [ExtraView]? {
        guard let file = resolved.choice.file,
            let reader = try? SafeTensorsReader(path: ViewsFile.path(for: file)),
            (try? DecoupledInput(metadata: reader.metadata, path: file)) != nil
        else { return nil }
        let identity = (try? SHA256.hexDigest(ofFile: ViewsFile.path(for: file))) ?? file
        return [ViewName.scene, .motion].map { view in
            // Built on first use, on the worker thread; a broken file shows in the pane.
            let embedder = LazyView { try ViewEmbedder.make(view, resolved: resolved).0 }
            return ExtraView(name: "\(view)", cacheIdentity: "network \(identity)") { path, window in
                try embedder.get().embed(path, openers: .files, windows: { _ in [window] }).vectors[0]
            }
        }
    }

    func parseSize() -> (Int, Int)? {
        let p = size.lowercased().split(separator: "x").compactMap { Int($0) }
        return p.count == 2 && p[0] > 0 && p[1] > 0 ? (p[0], p[1]) : nil
    }

    func run() throws {
        let paths = try VideoInputs.paths(inputs)
        let open: FrameReaderFactory = { path in
            // Motion vectors on, one decoder thread: exact vectors for every frame type.
            try VideoReader(path: path)
        }
        let embedding = try self.embedding()
        let interactive = isatty(0) != 0 && isatty(1) != 0
        if batch || !interactive {
            if !batch { Console.note("decouple: not a terminal, so printing one screen (see --batch for scripts).") }
            let (w, h) = parseSize()!
            let truecolor = colors == "24bit" || colors == "truecolor"
            let n = truecolor ? 256 : Int(colors)!
            var caps = Capabilities(
                colors: color == .never ? 0 : n, unicode: !ascii, truecolor: truecolor,
                graphics: Capabilities.Graphics(rawValue: graphics) ?? .none)
            if color == .auto, !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty { caps.colors = 0 }
            let app = ExplorerApp(
                paths: paths, width: w, height: h, caps: caps, open: open, embedding: embedding,
                previewWidth: caps.tier.pixelProtocol == nil ? 192 : 960)
            app.setMotionOverlay(motionOverlay)
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
            terminal = try CursesTerminal(
                color: color, ascii: ascii, mouse: !noMouse, logPath: log, graphics: graphics)
        } catch {
            Console.error("cannot open the explorer: \(error)")
            throw ExitCode(1)
        }
        let (w, h) = terminal.size
        // Pixel modes cache frames at up to 960 pixels wide: a large pane's real size.
        let app = ExplorerApp(
            paths: paths, width: w, height: h, caps: terminal.capabilities, open: open, embedding: embedding,
            previewWidth: terminal.capabilities.tier.pixelProtocol == nil ? 192 : 960)
        app.setMotionOverlay(motionOverlay)
        app.note("Pictures: \(terminal.capabilities.tier.rawValue) (\(terminal.graphicsReason)); t cycles")
        guard case .success(let startKeys) = Key.parse(script: keys) else { throw ExitCode(64) }
        let finished = app.runInteractive(terminal: terminal, keys: startKeys)
        terminal.restore()
        if let attrs = try? FileManager.default.attributesOfItem(atPath: log), (attrs[.size] as? Int ?? 0) > 0 {
            Console.note("decouple: messages from this session are in \(log)")
        }
        // Interrupted (Ctrl-C, SIGTERM): the shell convention 128 + SIGINT.
        if !finished { throw ExitCode(130) }
    }
}

/// A value made once, on first use, from any thread.
final class LazyView: @unchecked Sendable {
    private let lock = NSLock()
    private let make: () throws -> ViewEmbedder
    private var value: ViewEmbedder?

    init(_ make: @escaping () throws -> ViewEmbedder) { self.make = make }

    func get() throws -> ViewEmbedder {
        try lock.withLock {
            if let value { return value }
            let v = try make()
            value = v
            return v
        }
    }
}
