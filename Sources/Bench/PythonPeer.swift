import Common
import Foundation

/// A benchmark's Python peer: an interpreter with the peer's packages and a script from
/// `scripts/`, run either once (its stdout is one JSON document) or as a server that answers one
/// JSON line per request line.
///
/// The interpreter comes from one place: the command's option when given, else the
/// environment variable of its `Environment`, else that environment's default virtual
/// environment. The script is found with `Resources.find("scripts/…")` (next to the binary in a
/// checkout or an install, or under `$DECOUPLE_HOME`).
struct PythonPeer {
    /// A Python environment a peer needs: where its interpreter is by default, the variable that
    /// overrides it and how to make it.
    struct Environment: Sendable {
        /// What the peer measures with, for messages: "PyTorch", "FAISS".
        var name: String
        var variable: String
        var defaultPython: String
        var setup: String

        /// PyTorch CPU, safetensors and numpy (bench model, embed and train).
        static let torch = Environment(
            name: "PyTorch", variable: "DECOUPLE_TORCH_PYTHON", defaultPython: "/tmp/torch-venv/bin/python",
            setup:
                "python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install 'torch==2.13.0+cpu' safetensors numpy "
                + "--extra-index-url https://download.pytorch.org/whl/cpu")

        /// faiss-cpu and numpy (bench search).
        static let faiss = Environment(
            name: "FAISS", variable: "DECOUPLE_FAISS_PYTHON", defaultPython: "/tmp/faiss-venv/bin/python",
            setup: "python3 -m venv /tmp/faiss-venv && /tmp/faiss-venv/bin/pip install faiss-cpu numpy")

        /// For --help: "/tmp/torch-venv/bin/python (or $DECOUPLE_TORCH_PYTHON)".
        var helpText: String { "\(defaultPython) (or $\(variable))" }
    }

    /// Why a peer does not run, or what went wrong while it ran: one sentence.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    var environment: Environment
    var python: String
    var script: String

    /// The peer running `script` (a file name in `scripts/`) in `environment`, with `python`
    /// (the command's option) overriding the environment's interpreter.
    /// - Throws: `Failure` naming the interpreter or the script that is missing.
    /// `locate` finds `scripts/<name>` (tests give their own folder).
    static func find(
        _ environment: Environment, script name: String, python override: String? = nil,
        locate: (String) -> String? = Resources.find
    ) throws -> PythonPeer {
        let python = override ?? ProcessInfo.processInfo.environment[environment.variable] ?? environment.defaultPython
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Failure(
                description:
                    "\(environment.name) peer skipped: \(python) not found (set $\(environment.variable), or make it: \(environment.setup))"
            )
        }
        guard let script = locate("scripts/" + name) else {
            throw Failure(
                description:
                    "\(environment.name) peer skipped: scripts/\(name) not found (looked in \(Resources.searchDirectories.joined(separator: ", ")))"
            )
        }
        return PythonPeer(environment: environment, python: python, script: script)
    }

    /// Runs the script once with `arguments` and decodes its stdout as `T`; the peer's stderr
    /// goes to ours.
    /// - Throws: `Failure` when it cannot start, exits with an error or prints something else.
    func run<T: Decodable>(_ arguments: [String], as type: T.Type) throws -> T {
        let p = process(arguments)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        do { try p.run() } catch {
            throw Failure(
                description: "\(environment.name) peer could not start (\(python): \(error.localizedDescription))")
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Failure(
                description: "\(environment.name) peer failed: \(scriptName) exited with \(p.terminationStatus)")
        }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw Failure(
                description:
                    "\(environment.name) peer failed: \(scriptName) printed something other than the expected JSON (\(error))"
            )
        }
    }

    /// Starts the script as a server (`arguments` usually include `--serve`): it reads one
    /// request per line on stdin and answers each with one JSON line. `quiet` sends its
    /// stderr to /dev/null instead of ours.
    /// - Throws: `Failure` when it cannot start.
    func start(_ arguments: [String], quiet: Bool = false) throws -> Session {
        // A peer that dies must not take the benchmark with it through SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let p = process(arguments)
        let toPeer = Pipe()
        let fromPeer = Pipe()
        p.standardInput = toPeer
        p.standardOutput = fromPeer
        p.standardError = quiet ? FileHandle.nullDevice : FileHandle.standardError
        do { try p.run() } catch {
            throw Failure(
                description: "\(environment.name) peer could not start (\(python): \(error.localizedDescription))")
        }
        return Session(
            peer: self, process: p, input: toPeer.fileHandleForWriting, output: fromPeer.fileHandleForReading)
    }

    private var scriptName: String { "scripts/" + URL(fileURLWithPath: script).lastPathComponent }

    private func process(_ arguments: [String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script] + arguments
        return p
    }

    /// A running server: one request line, one JSON answer line. Once it fails, every later
    /// request fails at once.
    final class Session {
        let peer: PythonPeer
        let process: Process
        private let input: FileHandle
        private let output: FileHandle
        private var buffer = Data()
        private(set) var failed = false

        init(peer: PythonPeer, process: Process, input: FileHandle, output: FileHandle) {
            self.peer = peer
            self.process = process
            self.input = input
            self.output = output
        }

        /// Sends `line` and returns the answer as a JSON object.
        /// - Throws: `Failure` when the peer has stopped or answers with something else.
        func ask(_ line: String) throws -> [String: Any] {
            guard !failed else { throw Failure(description: "\(peer.environment.name) peer stopped earlier") }
            guard (try? input.write(contentsOf: Data((line + "\n").utf8))) != nil else { throw stopped(line) }
            while true {
                if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let answer = buffer[buffer.startIndex..<nl]
                    buffer = Data(buffer[(nl + 1)...])
                    guard let object = (try? JSONSerialization.jsonObject(with: answer)) as? [String: Any] else {
                        failed = true
                        throw Failure(
                            description:
                                "\(peer.environment.name) peer answered \"\(line)\" with something other than a JSON object"
                        )
                    }
                    return object
                }
                let chunk = output.availableData
                if chunk.isEmpty { throw stopped(line) }
                buffer.append(chunk)
            }
        }

        private func stopped(_ line: String) -> Failure {
            failed = true
            process.waitUntilExit()
            let command = ([peer.python] + (process.arguments ?? [])).joined(separator: " ")
            return Failure(
                description:
                    "\(peer.environment.name) peer stopped (exit \(process.terminationStatus)) on \"\(line)\"; run it by hand to see why: \(command)"
            )
        }

        /// Closes its stdin and waits for it to exit.
        func stop() {
            try? input.close()
            process.waitUntilExit()
        }
    }
}
