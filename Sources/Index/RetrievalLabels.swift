import Foundation

/// A labels file for retrieval evaluation: CSV with a header naming the columns `path` (or
/// `id`), `class` and `split`, in any order (other columns are ignored). `decouple synth`
/// writes `path,class,split` with paths relative to the file's directory.
public struct RetrievalLabels: Sendable, Equatable {
    /// One labelled video.
    public struct Entry: Sendable, Equatable {
        /// The `path` or `id` value as written.
        public var key: String
        /// For a `path` column: the path made absolute against the labels file's directory and
        /// standardised; nil for an `id` column.
        public var path: String?
        public var label: String
        public var split: String
        /// Line number in the file (1 is the header).
        public var line: Int

        public init(key: String, path: String?, label: String, split: String, line: Int) {
            self.key = key
            self.path = path
            self.label = label
            self.split = split
            self.line = line
        }
    }

    public var entries: [Entry]
    /// The file the labels came from (for messages).
    public var file: String

    /// Reads and parses `file`; relative paths resolve against its directory.
    /// - Throws: `StoreError` naming the file and line.
    public init(contentsOf file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw StoreError("'\(file)' could not be read.")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw StoreError("'\(file)' is not UTF-8 text.") }
        let base = URL(fileURLWithPath: file).standardizedFileURL.deletingLastPathComponent().path
        try self.init(parsing: text, file: file, baseDirectory: base)
    }

    /// Parses CSV text; `baseDirectory` resolves relative paths.
    public init(parsing text: String, file: String, baseDirectory: String) throws {
        self.file = file
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = String(first.dropFirst()) }
        guard let headerLine = lines.first, !headerLine.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw StoreError("'\(file)' is empty; it needs a header line such as path,class,split.")
        }
        let header = try Self.fields(headerLine, file: file, line: 1).map { $0.lowercased() }
        let keyColumn = header.firstIndex(of: "path") ?? header.firstIndex(of: "id")
        guard let keyColumn, let classColumn = header.firstIndex(of: "class"),
            let splitColumn = header.firstIndex(of: "split")
        else {
            throw StoreError(
                "'\(file)' has the header \"\(headerLine)\"; it needs the columns path (or id), class and split.")
        }
        let isPath = header[keyColumn] == "path"
        entries = []
        for (i, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let values = try Self.fields(line, file: file, line: i + 1)
            guard values.count == header.count else {
                throw StoreError("'\(file)' line \(i + 1) has \(values.count) fields; the header has \(header.count).")
            }
            let key = values[keyColumn]
            guard !key.isEmpty, !values[classColumn].isEmpty, !values[splitColumn].isEmpty else {
                throw StoreError("'\(file)' line \(i + 1) has an empty \(header[keyColumn]), class or split.")
            }
            let path = isPath ? Self.resolve(key, against: baseDirectory) : nil
            entries.append(
                Entry(key: key, path: path, label: values[classColumn], split: values[splitColumn], line: i + 1))
        }
    }

    /// The split names present, in order of first appearance.
    public var splits: [String] {
        var seen = Set<String>()
        return entries.map(\.split).filter { seen.insert($0).inserted }
    }

    /// `path` made absolute (relative paths against `directory`) and standardised.
    public static func resolve(_ path: String, against directory: String) -> String {
        let absolute = path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
        return URL(fileURLWithPath: absolute).standardizedFileURL.path
    }

    /// The fields of one CSV line: commas separate, double quotes enclose fields that hold
    /// commas or quotes (`""` is a quote), surrounding spaces are trimmed.
    static func fields(_ line: String, file: String, line number: Int) throws -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var chars = line.makeIterator()
        var pendingQuote = false
        while let c = chars.next() {
            if quoted {
                if pendingQuote {
                    pendingQuote = false
                    if c == "\"" {
                        current.append("\"")
                        continue
                    }
                    quoted = false
                } else if c == "\"" {
                    pendingQuote = true
                    continue
                } else {
                    current.append(c)
                    continue
                }
            }
            if c == "," {
                fields.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            } else if c == "\"" && current.trimmingCharacters(in: .whitespaces).isEmpty {
                quoted = true
                current = ""
            } else {
                current.append(c)
            }
        }
        if quoted && !pendingQuote { throw StoreError("'\(file)' line \(number) has an unclosed quote.") }
        fields.append(current.trimmingCharacters(in: .whitespaces))
        return fields
    }
}
