/// A key press, as the terminal adapter or a batch `--keys` script delivers it.
public enum Key: Hashable, Sendable {
    case char(Character)
    case left, right, up, down
    case shiftLeft, shiftRight
    case home, end, pageUp, pageDown
    case tab, backTab, enter, escape, backspace
    case function(Int)
    case interrupt
    /// The terminal changed size (curses' KEY_RESIZE, or `<resize:WxH>` in a script).
    case resize(width: Int, height: Int)
    /// Batch scripts only: wait until background work is done before the next key.
    case wait
    /// A click or a wheel turn (`<click:X,Y>`, `<wheelup:X,Y>`, `<wheeldown:X,Y>` in a script).
    case mouse(MouseEvent)

    /// Parses a `--keys` script: literal characters, plus `<Name>` tokens (`<Left>`, `<Right>`,
    /// `<Up>`, `<Down>`, `<S-Left>`, `<S-Right>`, `<Home>`, `<End>`, `<PgUp>`, `<PgDn>`, `<Tab>`,
    /// `<S-Tab>`, `<Enter>`, `<Esc>`, `<BS>`, `<Space>`, `<F1>`..`<F12>`, `<C-c>`,
    /// `<resize:WxH>`, `<click:X,Y>`, `<wheelup:X,Y>`, `<wheeldown:X,Y>` (0-based cells), `<wait>`,
    /// `<lt>` for a literal `<`). Returns nil with the bad token.
    public static func parse(script: String) -> Result<[Key], ParseError> {
        var keys: [Key] = []
        var i = script.startIndex
        while i < script.endIndex {
            let ch = script[i]
            if ch == "<", let close = script[i...].firstIndex(of: ">") {
                let name = String(script[script.index(after: i)..<close])
                guard let key = named(name) else { return .failure(ParseError(token: "<\(name)>")) }
                keys.append(key)
                i = script.index(after: close)
            } else {
                keys.append(.char(ch))
                i = script.index(after: i)
            }
        }
        return .success(keys)
    }

    public struct ParseError: Error, Equatable {
        public var token: String
    }

    static func named(_ name: String) -> Key? {
        let table: [String: Key] = [
            "left": .left, "right": .right, "up": .up, "down": .down, "s-left": .shiftLeft,
            "s-right": .shiftRight, "home": .home, "end": .end, "pgup": .pageUp, "pgdn": .pageDown,
            "tab": .tab, "s-tab": .backTab, "enter": .enter, "esc": .escape, "bs": .backspace,
            "space": .char(" "), "c-c": .interrupt, "wait": .wait, "lt": .char("<"),
        ]
        let lower = name.lowercased()
        if let k = table[lower] { return k }
        if lower.hasPrefix("f"), let n = Int(lower.dropFirst()), (1...12).contains(n) { return .function(n) }
        for (prefix, button) in [("click:", MouseButton.left), ("wheelup:", .wheelUp), ("wheeldown:", .wheelDown)]
        where lower.hasPrefix(prefix) {
            let xy = lower.dropFirst(prefix.count).split(separator: ",").compactMap { Int($0) }
            if xy.count == 2, xy[0] >= 0, xy[1] >= 0 { return .mouse(MouseEvent(x: xy[0], y: xy[1], button: button)) }
        }
        if lower.hasPrefix("resize:") {
            let dims = lower.dropFirst(7).split(separator: "x").compactMap { Int($0) }
            if dims.count == 2, dims[0] > 0, dims[1] > 0 { return .resize(width: dims[0], height: dims[1]) }
        }
        return nil
    }
}
