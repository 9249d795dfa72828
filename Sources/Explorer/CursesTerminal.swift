import CCurses
import Foundation

/// The only code that talks to ncurses: screen set-up and restore, drawing a `Screen`, reading
/// keys. Everything here runs on the main thread; curses is not thread-safe.
public final class CursesTerminal {
    private let window: UnsafeMutablePointer<WINDOW>
    private let screenRef: OpaquePointer
    private var pairs: [Int32: Int32] = [:]
    private var savedStderr: Int32 = -1
    public let logPath: String
    public let capabilities: Capabilities
    private var closed = false
    private let output: UnsafeMutablePointer<FILE>
    /// Pixel images and 24-bit cells, written after curses' text (TerminalImages.swift).
    private let images: TerminalImages
    /// Why `--graphics` chose what it chose (shown in the status bar at start-up).
    public let graphicsReason: String
    /// A cell's size in pixels (TIOCGWINSZ, else `CSI 16 t`, else 8x16).
    public private(set) var cellPixels: CellPixels
    private var queriedCell: CellPixels?

    public enum ColorChoice: String, Sendable { case auto, always, never }

    /// Sets up the terminal, or throws a sentence saying why it cannot (not a TTY, unknown TERM).
    /// `graphics` is `--graphics`: auto (decided from the environment and the terminal's
    /// replies), kitty, sixel, iterm, symbols or none. `mouse` false leaves the mouse to the
    /// terminal (its own text selection).
    public init(color: ColorChoice, ascii: Bool, mouse: Bool = true, logPath: String, graphics: String = "none") throws
    {
        guard isatty(0) != 0, isatty(1) != 0 else {
            throw TerminalError("standard input and output must be a terminal; use --batch for scripts")
        }
        setlocale(LC_ALL, "")
        let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        // Asked before curses owns the TTY; only when pictures may use the answers.
        let replies = graphics == "none" ? nil : TerminalQuery.ask()
        queriedCell = replies?.cellPixels
        cellPixels = TerminalQuery.cellPixelsFromWindowSize() ?? replies?.cellPixels ?? .fallback
        // While curses owns the screen, anything written to stderr (a Swift fatal error, a
        // library warning) would be painted over and lost: send it to a log file instead.
        self.logPath = logPath
        let fd = open(logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd >= 0 {
            savedStderr = dup(2)
            dup2(fd, 2)
            close(fd)
        }
        // newterm (unlike initscr) returns NULL instead of exiting when TERM is unusable.
        guard let out = fdopen(1, "w"), let input = fdopen(0, "r"), let scr = newterm(nil, out, input) else {
            images = TerminalImages(tmuxPassthrough: false)
            graphicsReason = ""
            if savedStderr >= 0 { dup2(savedStderr, 2) }
            throw TerminalError(
                "cannot start curses with TERM=\(ProcessInfo.processInfo.environment["TERM"] ?? "(unset)")")
        }
        screenRef = scr
        output = out
        set_term(scr)
        guard let win = ccu_stdscr() else {
            images = TerminalImages(tmuxPassthrough: false)
            graphicsReason = ""
            throw TerminalError("curses gave no screen window")
        }
        window = win
        ccu_register_atexit()
        ccu_install_signal_handlers()
        cbreak()
        noecho()
        nonl()
        keypad(window, true)
        curs_set(0)
        set_escdelay(25)
        wtimeout(window, 50)
        if mouse { ccu_mouse_enable() }
        var colors = 0
        let noColorEnv = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
        let wantColor = color == .always || (color == .auto && !noColorEnv)
        if wantColor && has_colors() {
            start_color()
            use_default_colors()
            let n = Int(ccu_colors())
            colors = n >= 256 ? 256 : (n >= 16 ? 16 : (n >= 8 ? 8 : 0))
        }
        let unicode = codeset == "UTF-8" && !ascii
        let decision = GraphicsDetection.decide(
            requested: graphics, environment: ProcessInfo.processInfo.environment, replies: replies, unicode: unicode,
            colors: colors)
        images = TerminalImages(tmuxPassthrough: decision.tmuxPassthrough)
        graphicsReason = decision.reason
        // 24-bit cells only where the text tiers may use them, and never without colour.
        capabilities = Capabilities(
            colors: colors, unicode: unicode, truecolor: decision.truecolor && colors >= 256,
            graphics: colors == 0 && decision.graphics == .symbols ? .none : decision.graphics)
    }

    deinit { restore() }

    /// Gives the terminal back: leaves the alternate screen, restores modes and stderr.
    public func restore() {
        guard !closed else { return }
        closed = true
        // Kitty images outlive the alternate screen unless deleted; clearing erases sixels.
        send(images.resetBytes())
        wclear(window)
        wrefresh(window)
        endwin()
        delscreen(screenRef)
        if savedStderr >= 0 {
            dup2(savedStderr, 2)
            close(savedStderr)
        }
    }

    public var size: (width: Int, height: Int) { (Int(getmaxx(window)), Int(getmaxy(window))) }

    /// True once after Ctrl-C or SIGTERM arrived.
    public func takeInterrupt() -> Bool { ccu_take_interrupt() != 0 }

    /// Copies `screen` to the terminal; curses sends only what changed.
    public func draw(_ screen: Screen) {
        send(images.clearBytes(for: screen))
        let (w, h) = size
        for y in 0..<min(h, screen.height) {
            for x in 0..<min(w, screen.width) {
                // The bottom-right cell would scroll some terminals; leave it alone.
                if y == h - 1 && x == w - 1 { continue }
                put(screen[x, y], x: x, y: y)
            }
        }
        wrefresh(window)
        send(images.drawBytes(for: screen))
    }

    /// Writes bytes past curses, after flushing what curses buffered so the order holds.
    private func send(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        fflush(output)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            // A terminal that stopped reading: drop the picture rather than hang the UI.
            guard n > 0 else { return }
            offset += n
        }
    }

    private func put(_ cell: Cell, x: Int, y: Int) {
        var pair: Int32 = 0
        if capabilities.colors > 0 && (cell.style.fg >= 0 || cell.style.bg >= 0) {
            let key = Int32(cell.style.fg) << 16 | Int32(UInt16(bitPattern: cell.style.bg))
            if let p = pairs[key] {
                pair = p
            } else {
                // alloc_pair keeps its own LRU of pairs; pair numbers above 255 go through
                // setcchar's int pointer, never COLOR_PAIR (which keeps 8 bits).
                pair = alloc_pair(Int32(cell.style.fg), Int32(cell.style.bg))
                if pair < 0 { pair = 0 }
                pairs[key] = pair
            }
        }
        var attrs = ccu_a_normal()
        if cell.style.attrs.contains(.bold) { attrs |= ccu_a_bold() }
        if cell.style.attrs.contains(.dim) { attrs |= ccu_a_dim() }
        if cell.style.attrs.contains(.reverse) { attrs |= ccu_a_reverse() }
        if cell.style.attrs.contains(.underline) { attrs |= ccu_a_underline() }
        var chars: [wchar_t] = [wchar_t(bitPattern: cell.glyph.unicodeScalars.first?.value ?? 32), 0]
        var cc = cchar_t()
        setcchar(&cc, &chars, attrs, 0, &pair)
        mvwadd_wch(window, Int32(y), Int32(x), &cc)
    }

    /// How long `readKey` waits for input (50 ms when idle, less while playing).
    public func setInputTimeout(milliseconds: Int) {
        guard milliseconds != inputTimeout else { return }
        inputTimeout = milliseconds
        wtimeout(window, Int32(milliseconds))
    }

    private var inputTimeout = 50

    private func mouseKey() -> Key? {
        var x: Int32 = 0
        var y: Int32 = 0
        switch ccu_get_mouse(&x, &y) {
        case 1: return .mouse(MouseEvent(x: Int(x), y: Int(y), button: .left))
        case 4: return .mouse(MouseEvent(x: Int(x), y: Int(y), button: .wheelUp))
        case 5: return .mouse(MouseEvent(x: Int(x), y: Int(y), button: .wheelDown))
        default: return nil
        }
    }

    /// The next key, or nil after the input timeout.
    public func readKey() -> Key? {
        var ch: wint_t = 0
        let r = wget_wch(window, &ch)
        if r == ERR { return nil }
        if r == KEY_CODE_YES {
            switch Int32(ch) {
            case ccu_key_resize():
                // Everything moves: forget the images and let curses repaint from scratch.
                send(images.resetBytes())
                clearok(window, true)
                cellPixels = TerminalQuery.cellPixelsFromWindowSize() ?? queriedCell ?? .fallback
                let (w, h) = size
                return .resize(width: w, height: h)
            case ccu_key_mouse():
                return mouseKey()
            case KEY_LEFT: return .left
            case KEY_RIGHT: return .right
            case KEY_UP: return .up
            case KEY_DOWN: return .down
            case KEY_SLEFT: return .shiftLeft
            case KEY_SRIGHT: return .shiftRight
            case KEY_HOME: return .home
            case KEY_END: return .end
            case KEY_PPAGE: return .pageUp
            case KEY_NPAGE: return .pageDown
            case KEY_BTAB: return .backTab
            case KEY_ENTER: return .enter
            case KEY_BACKSPACE: return .backspace
            case (KEY_F0 + 1)...(KEY_F0 + 12): return .function(Int(Int32(ch) - KEY_F0))
            default: return nil
            }
        }
        switch ch {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 127, 8: return .backspace
        case 3: return .interrupt
        default:
            guard let scalar = Unicode.Scalar(UInt32(ch)) else { return nil }
            return .char(Character(scalar))
        }
    }
}

public struct TerminalError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
