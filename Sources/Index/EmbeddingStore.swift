import Common
import Foundation
import VideoData

/// An embedding store: a directory that numpy, FAISS and a text editor read unchanged.
///
/// | file | content |
/// |---|---|
/// | `embeddings.npy` | float32 `[N, D]`, C order, a 128-byte `.npy` 1.0 header; row i belongs to line i of `items.jsonl` |
/// | `items.jsonl` | one `EmbeddingItem` per line (id, path, file size and SHA-256, frame and time range, model) |
/// | `manifest.json` | `EmbeddingManifest`: model, config, weights and their SHA-256, preprocessing, sampling, dimension, `count`, created |
///
/// ```swift
/// let store = try EmbeddingStore.create(at: "store", manifest: manifest)   // empty, count 0
/// try store.append(vectors: [v1, v2], items: [a, b])                       // atomic
/// let again = try EmbeddingStore(opening: "store")                         // checks everything
/// let matrix = try again.readMatrix()                                      // count x dimension
/// ```
///
/// **Appends are atomic.** `manifest.json`'s `count` is the commit record; it is replaced by a
/// rename, so it always names a complete set of rows. An append (1) writes the new rows after
/// the committed ones in `embeddings.npy`, (2) the new lines after the committed ones in
/// `items.jsonl`, (3) renames a new `manifest.json` into place (the commit), then (4) rewrites
/// the 128-byte `.npy` header in place with the new row count. A crash before (3) leaves bytes
/// past the committed rows and lines, which readers ignore (numpy reads the rows its header
/// names, this type reads `count`) and the next append overwrites. A crash between (3) and (4)
/// leaves a header one append behind: numpy still reads the previous store, this type reads
/// the new one, and the next writer fixes the header.
///
/// **Opening checks** that the three files agree: the matrix is float32 `[*, dimension]` with at
/// least `count` rows, `items.jsonl` has at least `count` valid lines, every item is of the
/// manifest's model, ids are unique. Any disagreement is a `StoreError` naming the file.
///
/// One writer at a time: opening with `forWriting` takes an exclusive `flock` on the directory
/// for the life of the object.
public final class EmbeddingStore {
    public static let matrixFile = "embeddings.npy"
    public static let itemsFile = "items.jsonl"
    public static let manifestFile = "manifest.json"

    /// The store directory as given.
    public let directory: String
    /// The manifest; `count` is the number of rows.
    public private(set) var manifest: EmbeddingManifest
    /// One item per row, in row order.
    public private(set) var items: [EmbeddingItem]

    /// Byte offset of the first row in `embeddings.npy`.
    private var dataOffset: Int
    /// Bytes of `items.jsonl` holding the committed lines.
    private var itemsBytes: Int
    /// Rows the `.npy` header names (behind `count` only after an interrupted append).
    private var headerRows: Int
    private var ids: Set<String>
    private var lock: Int32?

    public var count: Int { manifest.count }
    public var dimension: Int { manifest.dimension }

    /// Opens and checks an existing store.
    /// - Parameter forWriting: take the writer's lock (one writer at a time) so `append` works.
    /// - Throws: `StoreError` naming the file: a missing directory or file, a bad `.npy`
    ///   header, a matrix of another dimension or with fewer rows than `count`, an invalid line,
    ///   an item of another model, a repeated id, or (for writing) a store another process writes.
    public init(opening directory: String, forWriting: Bool = false) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw StoreError("'\(directory)' does not exist.")
        }
        guard isDirectory.boolValue else {
            throw StoreError("'\(directory)' is a file, not an embedding store directory.")
        }
        if forWriting {
            guard let fd = try StoreFiles.lockDirectory(directory) else {
                throw StoreError("'\(directory)' is being written by another process.")
            }
            lock = fd
        }
        let manifest = try Self.readManifest(directory)
        let matrix = try Self.checkMatrix(directory, manifest: manifest)
        let lines = try Self.readItems(directory, manifest: manifest)
        self.manifest = manifest
        items = lines.items
        itemsBytes = lines.bytes
        dataOffset = matrix.dataOffset
        headerRows = matrix.headerRows
        ids = Set(lines.items.map(\.id))
        if forWriting { try repairHeader() }
    }

    deinit {
        if let lock { close(lock) }
    }

    // MARK: Creating and writing whole stores

    /// Creates an empty store (count 0) at `directory`, assembled under a temporary name and
    /// renamed into place; `replace` replaces an existing directory. The result is open for
    /// writing.
    public static func create(at directory: String, manifest: EmbeddingManifest, replace: Bool = false) throws
        -> EmbeddingStore
    {
        var empty = manifest
        empty.count = 0
        try write(to: directory, matrix: [], items: [], manifest: empty, replace: replace)
        return try EmbeddingStore(opening: directory, forWriting: true)
    }

    /// Writes a whole store: `matrix` holds `items.count` rows of `manifest.dimension` values,
    /// row-major; `manifest.count` is set to `items.count`. The directory is assembled under a
    /// temporary name beside `directory` and renamed into place, so a failure never leaves a
    /// half-written store. `replace` allows an existing directory to be replaced.
    public static func write(
        to directory: String, matrix: [Float], items: [EmbeddingItem], manifest: EmbeddingManifest,
        replace: Bool = false
    ) throws {
        precondition(matrix.count == items.count * manifest.dimension, "one row of the manifest's dimension per item")
        let fm = FileManager.default
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        if fm.fileExists(atPath: target.path) && !replace {
            throw StoreError("'\(directory)' already exists (and replacing it was not asked for).")
        }
        if let repeated = firstRepeatedID(items) {
            throw StoreError("'\(directory)' would hold the id \"\(repeated)\" twice.")
        }
        var manifest = manifest
        manifest.count = items.count
        let parent = target.deletingLastPathComponent()
        let temporary = parent.appendingPathComponent(".\(target.lastPathComponent).\(getpid()).partial")
        do {
            try? fm.removeItem(at: temporary)
            try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
            let npy = try StoreFile(temporary.appendingPathComponent(matrixFile).path, writable: true, create: true)
            try npy.write(MatrixHeader.bytes(rows: items.count, dimension: manifest.dimension)!, at: 0)
            try matrix.withUnsafeBytes { try npy.write($0, at: MatrixHeader.length) }
            try npy.sync()
            let lines = try StoreFile(temporary.appendingPathComponent(itemsFile).path, writable: true, create: true)
            try lines.write(Array(jsonLines(items)), at: 0)
            try lines.sync()
            try StoreFiles.replaceAtomically(
                temporary.appendingPathComponent(manifestFile).path, with: manifestJSON(manifest))
            try StoreFiles.moveIntoPlace(temporary.path, target.path, replace: replace)
        } catch let error as StoreError {
            try? fm.removeItem(at: temporary)
            throw error
        } catch {
            try? fm.removeItem(at: temporary)
            throw StoreError("'\(directory)' could not be written (\((error as NSError).localizedDescription)).")
        }
    }

    // MARK: Reading

    /// The committed rows, row-major: `count * dimension` values.
    public func readMatrix() throws -> [Float] {
        try readRows(0..<count)
    }

    /// Rows `range` (within `0..<count`), row-major.
    public func readRows(_ range: Range<Int>) throws -> [Float] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "rows \(range) of a store of \(count)")
        let d = dimension
        let file = try StoreFile(path(Self.matrixFile), writable: false)
        return try [Float](unsafeUninitializedCapacity: range.count * d) { buffer, initialized in
            if !range.isEmpty {
                try file.read(
                    into: buffer.baseAddress!, count: range.count * d * 4, at: dataOffset + range.lowerBound * d * 4)
            }
            initialized = range.count * d
        }
    }

    /// The row index of the item with `id`, if any.
    public func index(ofID id: String) -> Int? {
        guard ids.contains(id) else { return nil }
        return items.firstIndex { $0.id == id }
    }

    // MARK: Appending

    /// Appends rows atomically (see the type's notes) and returns their items as stored: ids
    /// already in the store get `_2`, `_3`... Needs a store opened for writing.
    /// - Throws: `StoreError` for an item of another model or an I/O failure; the store is then
    ///   still the one before the call.
    @discardableResult
    public func append(vectors: [[Float]], items newItems: [EmbeddingItem]) throws -> [EmbeddingItem] {
        precondition(vectors.allSatisfy { $0.count == dimension }, "vectors of the store's dimension \(dimension)")
        return try append(matrix: vectors.flatMap { $0 }, items: newItems)
    }

    /// `append(vectors:items:)` with the rows in one row-major array.
    @discardableResult
    public func append(matrix: [Float], items newItems: [EmbeddingItem]) throws -> [EmbeddingItem] {
        precondition(lock != nil, "append needs a store opened for writing")
        precondition(matrix.count == newItems.count * dimension, "one row of the store's dimension per item")
        if let other = newItems.first(where: { $0.model != manifest.model }) {
            throw StoreError("'\(directory)' holds \(manifest.model) embeddings; \"\(other.id)\" is of \(other.model).")
        }
        if newItems.isEmpty { return [] }
        var stored = newItems
        var taken = ids
        for i in stored.indices {
            stored[i].id = Self.uniqueID(stored[i].id, avoiding: taken)
            taken.insert(stored[i].id)
        }
        let rowBytes = dimension * 4
        let newCount = count + stored.count

        // (1) Rows after the committed ones (cutting off what an interrupted append left).
        let npy = try StoreFile(path(Self.matrixFile), writable: true)
        let end = dataOffset + count * rowBytes
        try npy.truncate(to: end)
        try matrix.withUnsafeBytes { try npy.write($0, at: end) }
        try npy.sync()
        CrashPoint.pass("rows")

        // (2) Lines after the committed ones.
        let lines = try StoreFile(path(Self.itemsFile), writable: true)
        let text = Array(Self.jsonLines(stored))
        try lines.truncate(to: itemsBytes)
        try lines.write(text, at: itemsBytes)
        try lines.sync()
        CrashPoint.pass("items")

        // (3) The commit: a new manifest renamed into place.
        var committed = manifest
        committed.count = newCount
        try StoreFiles.replaceAtomically(path(Self.manifestFile), with: Self.manifestJSON(committed))
        manifest = committed
        items += stored
        ids = taken
        itemsBytes += text.count
        CrashPoint.pass("manifest")

        // (4) The header numpy reads.
        try writeHeader(npy, rows: newCount)
        CrashPoint.pass("header")
        return stored
    }

    // MARK: Internals

    private func path(_ file: String) -> String { (directory as NSString).appendingPathComponent(file) }

    private func writeHeader(_ npy: StoreFile, rows: Int) throws {
        guard let header = MatrixHeader.bytes(rows: rows, dimension: dimension, length: dataOffset) else {
            throw StoreError("'\(path(Self.matrixFile))' has a \(dataOffset)-byte header, too short for \(rows) rows.")
        }
        try npy.write(header, at: 0)
        headerRows = rows
    }

    /// Before the first append: a header behind `count` (an append interrupted after its
    /// commit) is brought up to date.
    private func repairHeader() throws {
        if headerRows != count { try writeHeader(try StoreFile(path(Self.matrixFile), writable: true), rows: count) }
    }

    static func manifestJSON(_ manifest: EmbeddingManifest) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var json = try encoder.encode(manifest)
        json.append(0x0A)
        return json
    }

    static func jsonLines(_ items: [EmbeddingItem]) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines = Data()
        for item in items {
            lines.append(try! encoder.encode(item))
            lines.append(0x0A)
        }
        return lines
    }

    /// `id`, or `id_2`, `id_3`... the first not in `taken`.
    public static func uniqueID(_ id: String, avoiding taken: Set<String>) -> String {
        guard taken.contains(id) else { return id }
        var n = 2
        while taken.contains("\(id)_\(n)") { n += 1 }
        return "\(id)_\(n)"
    }

    static func firstRepeatedID(_ items: [EmbeddingItem]) -> String? {
        var seen = Set<String>()
        for item in items where !seen.insert(item.id).inserted { return item.id }
        return nil
    }

    private static func readManifest(_ directory: String) throws -> EmbeddingManifest {
        let file = (directory as NSString).appendingPathComponent(manifestFile)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw StoreError("'\(directory)' is not an embedding store (it has no \(manifestFile)).")
        }
        let manifest: EmbeddingManifest
        do { manifest = try JSONDecoder().decode(EmbeddingManifest.self, from: data) } catch {
            throw StoreError("'\(file)' is not a valid store manifest (\(DecodeReason.of(error))).")
        }
        guard manifest.dimension > 0, manifest.count >= 0 else {
            throw StoreError(
                "'\(file)' gives dimension \(manifest.dimension) and count \(manifest.count); both must be positive.")
        }
        return manifest
    }

    private static func checkMatrix(_ directory: String, manifest: EmbeddingManifest) throws -> (
        dataOffset: Int, headerRows: Int
    ) {
        let file = (directory as NSString).appendingPathComponent(matrixFile)
        guard FileManager.default.fileExists(atPath: file) else { throw StoreError("'\(file)' is missing.") }
        let npy = try StoreFile(file, writable: false)
        let size = npy.size
        let head = try npy.read(count: min(size, 1 << 16), at: 0)
        guard let header = NPY.parseHeader(head) else {
            throw StoreError("'\(file)' is not a NumPy .npy file (its header cannot be read).")
        }
        guard header.dtype == "<f4" else {
            throw StoreError("'\(file)' holds \(header.dtype) values, not float32 (<f4).")
        }
        guard header.shape.count == 2 else {
            throw StoreError("'\(file)' has shape \(header.shape), not [rows, dimension].")
        }
        let (rows, d) = (header.shape[0], header.shape[1])
        guard d == manifest.dimension else {
            throw StoreError(
                "'\(file)' has rows of \(d) values, but \(manifestFile) says dimension \(manifest.dimension).")
        }
        let (rowBytes, overflow) = d.multipliedReportingOverflow(by: 4)
        guard !overflow else {
            throw StoreError("'\(file)' has rows of \(d) values, more than a file can hold.")
        }
        let available = (size - header.dataOffset) / rowBytes
        guard rows <= manifest.count else {
            throw StoreError("'\(file)' holds \(rows) rows, but \(manifestFile) says \(manifest.count).")
        }
        guard available >= manifest.count else {
            throw StoreError(
                "'\(file)' is cut short: it holds \(available) complete rows, but \(manifestFile) says \(manifest.count)."
            )
        }
        return (header.dataOffset, rows)
    }

    private static func readItems(_ directory: String, manifest: EmbeddingManifest) throws -> (
        items: [EmbeddingItem], bytes: Int
    ) {
        let file = (directory as NSString).appendingPathComponent(itemsFile)
        guard let data = FileManager.default.contents(atPath: file) else { throw StoreError("'\(file)' is missing.") }
        var items: [EmbeddingItem] = []
        items.reserveCapacity(manifest.count)
        var seen = Set<String>()
        let decoder = JSONDecoder()
        var start = data.startIndex
        while items.count < manifest.count {
            guard let newline = data[start...].firstIndex(of: 0x0A) else {
                throw StoreError(
                    "'\(file)' has \(items.count) complete lines, but \(manifestFile) says \(manifest.count) rows.")
            }
            let line = items.count + 1
            let item: EmbeddingItem
            do { item = try decoder.decode(EmbeddingItem.self, from: data[start..<newline]) } catch {
                throw StoreError("'\(file)' line \(line) is not a valid item (\(DecodeReason.of(error))).")
            }
            guard item.model == manifest.model else {
                throw StoreError(
                    "'\(file)' line \(line) is an item of model \(item.model), but the store holds \(manifest.model).")
            }
            guard seen.insert(item.id).inserted else {
                throw StoreError("'\(file)' line \(line) repeats the id \"\(item.id)\".")
            }
            items.append(item)
            start = newline + 1
        }
        return (items, start - data.startIndex)
    }
}

/// A short reason for a JSON decoding failure ("missing \"path\"", "not JSON").
enum DecodeReason {
    static func of(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, _): return "missing \"\(key.stringValue)\""
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "not JSON" : "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is invalid"
        @unknown default: return "invalid"
        }
    }
}
