/// The folder holding `path` as the path names it: "." for a bare name, "/" for a name at the
/// root, trailing slashes ignored. Foundation's `NSString.deletingLastPathComponent` traps on a
/// one-character relative path ("s", "s/") in swift-corelibs-foundation 6.3, so the project
/// uses this instead (`decouple synth -o s` crashed on it).
public func parentDirectory(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return "." }
    if slash == p.startIndex { return "/" }
    var parent = p[..<slash]
    while parent.count > 1 && parent.hasSuffix("/") { parent = parent.dropLast() }
    return String(parent)
}
