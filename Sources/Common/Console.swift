import Foundation

/// Small output helpers shared by the commands: messages on stderr, a progress line on a
/// terminal, JSON on stdout.
public enum Console {
    /// True when stderr is a terminal: progress lines go there, and only then.
    public static var stderrIsTTY: Bool { isatty(2) != 0 }

    public static func error(_ message: String) {
        FileHandle.standardError.write(Data(("decouple: " + message + "\n").utf8))
    }

    public static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Overwrites the current stderr line (TTY only).
    public static func status(_ line: String) {
        guard stderrIsTTY else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    public static func endStatus() {
        guard stderrIsTTY else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    public static func json<T: Encodable>(_ value: T, pretty: Bool = true) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? enc.encode(value)) ?? Data(), as: UTF8.self)
    }
}

/// `[#####-----] 52%  1234/4000 frames  2100 fps  ETA 0:02`
public func progressLine(label: String, done: Int, total: Int, elapsed: Double, unit: String) -> String {
    let frac = total > 0 ? min(1, Double(done) / Double(total)) : 0
    let width = 20
    let filled = Int(frac * Double(width))
    let rate = elapsed > 0 ? Double(done) / elapsed : 0
    let eta = rate > 0 ? Double(total - done) / rate : 0
    let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
    return "\(label) [\(bar)] \(Int(frac * 100))%  \(done)/\(total) \(unit)  \(Int(rate)) \(unit)/s  ETA \(clock(eta))"
}

public func clock(_ seconds: Double) -> String {
    let s = max(0, Int(seconds.rounded()))
    return s >= 3600
        ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}

public func humanBytes(_ n: Int) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var v = Double(n)
    var u = 0
    while v >= 1000 && u < units.count - 1 {
        v /= 1000
        u += 1
    }
    return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
}
