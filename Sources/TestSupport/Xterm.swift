import Foundation
import VideoData

/// Runs a program in a real xterm with sixel graphics (`-ti vt340`, 256 colour registers) on a
/// private Xvfb display, and takes screenshots of it (xwd + ImageMagick). The font is the core
/// `fixed` font (6x13 pixels, always present in Xvfb) and both borders are 0, so cell (c, r)
/// starts at pixel (6c, 13r) of the screenshot.
public final class XtermSession {
    public static let tools = ["Xvfb", "xterm", "xwd", "convert"]
    public static let cell = (width: 6, height: 13)

    /// The tools this needs that are not on PATH (make deps installs them).
    public static var missingTools: [String] {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return tools.filter { t in !path.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(t)") } }
    }

    public let display: String
    public let screenWidth = 1024
    public let screenHeight = 768
    private let xvfb = Process()
    private let xterm = Process()
    /// The program's own pid, written by the wrapper, so teardown can end it by id.
    private let pidFile: String

    /// Starts Xvfb and `command` in a `columns x rows` xterm.
    /// `font` nil: the core `fixed` font (6x13, what `cell` says); else an Xft font at 8 points
    /// (for screenshots: it has the arrow and block glyphs `fixed` lacks).
    public init(
        _ command: [String], columns: Int = 120, rows: Int = 40, environment: [String: String] = [:],
        font: String? = nil
    ) throws {
        // A display number nobody uses: from the pid, skipping sockets that exist.
        var n = 200 + Int(getpid() % 500)
        while FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\(n)") { n += 1 }
        display = ":\(n)"
        xvfb.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        xvfb.arguments = [
            "Xvfb", display, "-screen", "0", "\(screenWidth)x\(screenHeight)x24", "-nolisten", "tcp", "-br",
        ]
        xvfb.standardInput = FileHandle.nullDevice
        xvfb.standardOutput = FileHandle.nullDevice
        xvfb.standardError = FileHandle.nullDevice
        try xvfb.run()
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\(n)") {
            guard Date() < deadline, xvfb.isRunning else { throw TestFailure("Xvfb \(display) did not start") }
            usleep(50_000)
        }
        var env = ProcessInfo.processInfo.environment
        for k in ["TMUX", "COLORTERM", "NO_COLOR", "KITTY_WINDOW_ID", "TERM_PROGRAM"] { env[k] = nil }
        env["DISPLAY"] = display
        env["LANG"] = "C.UTF-8"
        env["LC_ALL"] = "C.UTF-8"
        pidFile = Paths.temporaryDirectory("xterm") + "/program.pid"
        xterm.environment = env
        xterm.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        xterm.arguments =
            [
                "xterm", "-ti", "vt340", "-tn", "xterm-256color", "-xrm", "XTerm*decTerminalID: vt340", "-xrm",
                "XTerm*numColorRegisters: 256", "-xrm", "XTerm*sixelScrolling: true",
            ] + (font.map { ["-fa", $0, "-fs", "8"] } ?? ["-fn", "fixed"]) + [
                "-b", "0", "-bw", "0", "-geometry", "\(columns)x\(rows)+0+0", "-e", "bash", "-c",
                // xterm drops COLORTERM from its children's environment: set it (and the
                // caller's others) inside.
                "echo $$ > '\(pidFile)'; exec env \(environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")) \"$@\"",
                "program",
            ] + command
        xterm.standardInput = FileHandle.nullDevice
        xterm.standardOutput = FileHandle.nullDevice
        xterm.standardError = FileHandle.nullDevice
        try xterm.run()
    }

    /// Ends the program, xterm and Xvfb by their pids. SIGKILL: children of the test runner
    /// were seen to outlive SIGTERM, and none of them has anything to save.
    deinit {
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1
        {
            kill(pid, SIGKILL)
        }
        for p in [xterm, xvfb] where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
    }

    public var running: Bool { xterm.isRunning }

    /// The whole display as RGB.
    public func screenshot() throws -> RGBImage {
        let out = try run("bash", ["-c", "xwd -root -silent -display \(display) | convert xwd:- -depth 8 rgb:-"])
        let want = screenWidth * screenHeight * 3
        guard out.status == 0, out.stdout.count == want else {
            throw TestFailure("screenshot failed (\(out.status), \(out.stdout.count) bytes): \(out.stderr)")
        }
        return RGBImage(width: screenWidth, height: screenHeight, pixels: [UInt8](out.stdout))
    }

    /// Saves the xterm's window (the display less its black root) as a small PNG.
    public func savePNG(_ path: String) throws {
        try runChecked(
            "bash",
            [
                "-c",
                "xwd -root -silent -display \(display) | convert xwd:- -trim +repage -colors 256 -strip '\(path)'",
            ])
    }

    /// The pixels of the cell rectangle `x, y, width x height` (in cells) of a screenshot.
    public static func crop(_ shot: RGBImage, x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for r in 0..<height {
            let sy = y + r
            guard sy < shot.height else { break }
            for c in 0..<width where x + c < shot.width {
                let s = (sy * shot.width + x + c) * 3
                let d = (r * width + c) * 3
                out[d] = shot.pixels[s]
                out[d + 1] = shot.pixels[s + 1]
                out[d + 2] = shot.pixels[s + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
