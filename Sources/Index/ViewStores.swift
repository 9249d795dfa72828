import Foundation

/// The stores of `decouple embed --views`: one store per view in sub-folders of one directory.
public enum ViewStores {
    /// `directory` itself when it is a store (it has a manifest), else its sub-folders that are
    /// stores, in name order (`motion`, `scene`, `video`); empty when neither.
    public static func stores(in directory: String) -> [String] {
        let fm = FileManager.default
        func isStore(_ d: String) -> Bool {
            fm.fileExists(atPath: (d as NSString).appendingPathComponent("manifest.json"))
        }
        if isStore(directory) { return [directory] }
        let children = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
        return children.sorted().map { (directory as NSString).appendingPathComponent($0) }.filter(isStore)
    }

    /// The view a store's manifest records (`view=NAME` in its configuration; `video:pooled`
    /// when none is recorded).
    public static func view(of manifest: EmbeddingManifest) -> String {
        manifest.config.split(separator: " ").first { $0.hasPrefix("view=") }.map { String($0.dropFirst(5)) }
            ?? "video:pooled"
    }
}
