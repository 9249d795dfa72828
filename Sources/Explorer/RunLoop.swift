import Foundation

extension ExplorerApp {
    /// The interactive loop: keys and worker events in, screens out, until `q` or Ctrl-C.
    /// Only this thread calls curses. Returns false when Ctrl-C or SIGTERM ended it.
    @discardableResult
    /// `keys` are typed first (`--keys` outside batch: start at a frame, in a mode), each
    /// `<wait>` holding the rest until background work is done.
    public func runInteractive(terminal: CursesTerminal, keys: [Key] = []) -> Bool {
        var pending = keys[...]
        let (w, h) = terminal.size
        setCellPixels(terminal.cellPixels)
        handle(.resize(width: w, height: h))
        start()
        var dirty = true
        while true {
            if pump() { dirty = true }
            // While playing, the clock drives the frame; read keys with a short timeout so ticks
            // come often enough for 4x speed, and idle at the usual 50 ms otherwise.
            if tick(now: ProcessInfo.processInfo.systemUptime) { dirty = true }
            terminal.setInputTimeout(milliseconds: state.playing ? 4 : 50)
            if terminal.takeInterrupt() {
                // Ctrl-C: cancel what runs and leave at once; the terminal is restored below.
                handle(.interrupt)
                if state.prompt == .confirmQuit { handle(.interrupt) }
                stop()
                return false
            }
            if dirty {
                terminal.draw(render())
                dirty = false
            }
            while let key = pending.first, key != .wait || isIdle {
                pending = pending.dropFirst()
                dirty = true
                if key != .wait && !handle(key) {
                    stop()
                    return true
                }
            }
            if let key = terminal.readKey() {
                dirty = true
                if case .resize = key { setCellPixels(terminal.cellPixels) }
                if !handle(key) { break }
            }
        }
        stop()
        return true
    }

    /// Batch mode: the same state machine without a terminal. Each key waits for the work the
    /// previous one started, so the final screen does not depend on timing.
    public func runBatch(keys: [Key]) -> Screen {
        start()
        settle()
        for key in keys {
            if key == .wait {
                settle()
                continue
            }
            if !handle(key) { break }
            settle()
        }
        settle()
        stop()
        return render()
    }
}
