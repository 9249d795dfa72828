import Foundation

/// Start-up questions to the terminal, asked before curses takes it over: the replies decide
/// `--graphics auto` and give the cell size in pixels. Adapter code (it reads the TTY).
enum TerminalQuery {
    /// Writes `GraphicsDetection.query` and collects the replies until the device attributes
    /// reply (every terminal sends one) or `timeout` seconds. Nil when the TTY cannot be put
    /// in raw mode.
    static func ask(timeout: Double = 0.3) -> GraphicsDetection.Replies? {
        var saved = termios()
        guard tcgetattr(0, &saved) == 0 else { return nil }
        var raw = saved
        // No echo and no line editing, so the replies neither show up nor wait for Enter.
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        guard tcsetattr(0, TCSANOW, &raw) == 0 else { return nil }
        defer {
            // A reply that came too late must not reach curses as keys (ESC, `c`...).
            _ = tcflush(0, TCIFLUSH)
            _ = tcsetattr(0, TCSANOW, &saved)
        }
        let query = Array(GraphicsDetection.query.utf8)
        let written = query.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        guard written == query.count else { return nil }
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 256)
        while Date() < deadline {
            var fds = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            let r = poll(&fds, 1, ms)
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { break }
            let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            bytes += buf[0..<n]
            if GraphicsDetection.Replies.parse(bytes).deviceAttributes != nil { break }
        }
        return GraphicsDetection.Replies.parse(bytes)
    }

    /// The cell size from the kernel's window size (xterm, kitty, foot fill in the pixel
    /// fields; many terminals leave them 0).
    static func cellPixelsFromWindowSize() -> CellPixels? {
        var ws = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0, ws.ws_xpixel > 0, ws.ws_ypixel > 0
        else { return nil }
        return CellPixels(width: Int(ws.ws_xpixel) / Int(ws.ws_col), height: Int(ws.ws_ypixel) / Int(ws.ws_row))
    }
}
