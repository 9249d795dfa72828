import Foundation

/// Drives a program in a real terminal: a private tmux server with a clean configuration
/// (docs/terminal.md §5.2). The program runs under a wrapper that records its exit status and the
/// terminal modes afterwards, and ignores SIGINT itself so Ctrl-C reaches only the program.
public final class TmuxSession {
    public let socket: String
    let dir: String

    /// Starts `command` in a `width x height` terminal (TERM=tmux-256color, UTF-8 locale).
    public init(_ command: [String], width: Int = 120, height: Int = 40, environment: [String: String] = [:]) throws {
        socket = "decouple-test-\(getpid())-\(UUID().uuidString.prefix(6))"
        dir = Paths.temporaryDirectory("tmux")
        let wrapper = dir + "/wrapper.sh"
        let quoted = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let env = environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        let script = """
            #!/bin/bash
            trap '' INT
            # The server inherits the test runner's environment; start from a known one.
            unset NO_COLOR COLORTERM
            env \(env) \(quoted) 2>"\(dir)/stderr.txt"
            echo "EXIT=$?"
            stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo|isig|icrnl|opost|ixon)$' | tr '\\n' ' ' | sed 's/^/STTY= /'
            echo
            sleep 600
            """
        try script.write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        // The tmux server forks from this client and keeps whatever descriptors it inherits, so
        // Foundation's Process (which watches pipes) never sees it finish: use system(3) with
        // everything redirected.
        let command =
            "tmux -L \(socket) -f /dev/null new-session -d -s t -x \(width) -y \(height) "
            + "'env TERM=tmux-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 \(wrapper)' </dev/null >/dev/null 2>&1"
        guard system(command) == 0 else {
            throw TestFailure("tmux new-session failed (is tmux installed? make deps installs it)")
        }
    }

    deinit { _ = try? run("tmux", ["-L", socket, "kill-server"]) }

    /// Keys in tmux's send-keys syntax ("q", "Left", "C-c", "F1").
    public func send(_ keys: String...) throws {
        try runChecked("tmux", ["-L", socket, "send-keys", "-t", "t"] + keys)
    }

    public func resize(width: Int, height: Int) throws {
        try runChecked("tmux", ["-L", socket, "resize-window", "-t", "t", "-x", "\(width)", "-y", "\(height)"])
    }

    /// The visible text of the pane.
    public func capture(colors: Bool = false) throws -> String {
        try runChecked("tmux", ["-L", socket, "capture-pane", "-p", "-t", "t"] + (colors ? ["-e"] : [])).text
    }

    /// Waits until the pane shows `text` (polling, no fixed sleeps); throws with the last screen.
    @discardableResult
    public func waitFor(_ text: String, timeout: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = try capture()
            if screen.contains(text) { return screen }
            usleep(50_000)
        }
        throw TestFailure("timed out after \(timeout) s waiting for '\(text)'; the pane shows:\n\(screen)")
    }

    /// Waits until the pane no longer shows `text`.
    @discardableResult
    public func waitUntilGone(_ text: String, timeout: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < deadline {
            screen = try capture()
            if !screen.contains(text) { return screen }
            usleep(50_000)
        }
        throw TestFailure("timed out after \(timeout) s waiting for '\(text)' to go; the pane shows:\n\(screen)")
    }

    /// Whether the alternate screen is active (1 while curses runs, 0 after it restored).
    public func alternateScreen() throws -> Bool {
        try runChecked("tmux", ["-L", socket, "display", "-p", "-t", "t", "#{alternate_on}"]).text.hasPrefix("1")
    }

    /// What the program wrote to stderr.
    public var stderr: String { (try? String(contentsOfFile: dir + "/stderr.txt", encoding: .utf8)) ?? "" }
}
