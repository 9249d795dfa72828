import Foundation
import TestSupport
import Testing

@testable import Bench

@Suite("Bench helpers: Stats, PythonPeer, Machine")
struct BenchHelpersTests {
    @Test("median: the middle value, the mean of the two middle values for an even count, NaN when empty")
    func median() {
        #expect(Stats.median([3, 1, 2]) == 2)
        #expect(Stats.median([4, 1, 3, 2]) == 2.5)
        #expect(Stats.median([7]) == 7)
        #expect(Stats.median([]).isNaN)
        #expect(Stats.percentile(Array(1...100).map(Double.init), 95) == 96)
        #expect(Stats.percentile([5, 1], 95) == 5)
        #expect(Stats.percentile([], 95).isNaN)
        var calls = 0
        let m = Stats.medianOfRuns(4) {
            calls += 1
            if calls == 2 { throw CancellationError() }
            return Double(calls)
        }
        #expect(calls == 4 && m == 3)
    }

    /// A folder holding `scripts/<name>`, run by /bin/sh as the "interpreter".
    func peer(_ name: String, _ script: String) throws -> PythonPeer {
        let home = Paths.temporaryDirectory("bench-peer")
        try FileManager.default.createDirectory(atPath: home + "/scripts", withIntermediateDirectories: true)
        try Data(script.utf8).write(to: URL(fileURLWithPath: home + "/scripts/" + name))
        return try PythonPeer.find(.torch, script: name, python: "/bin/sh") { relative in
            FileManager.default.fileExists(atPath: home + "/" + relative) ? home + "/" + relative : nil
        }
    }

    @Test("a one-shot peer's JSON is decoded; a failing one is one sentence naming the script")
    func oneShot() throws {
        struct Answer: Decodable { var ms: Double }
        let good = try peer("good_peer.py", "echo '{\"ms\": 12.5}'\n")
        #expect(try good.run(["--x"], as: Answer.self).ms == 12.5)
        let bad = try peer("bad_peer.py", "exit 3\n")
        #expect(throws: PythonPeer.Failure.self) { try bad.run([], as: Answer.self) }
        do { _ = try bad.run([], as: Answer.self) } catch {
            #expect("\(error)" == "PyTorch peer failed: scripts/bad_peer.py exited with 3")
        }
    }

    @Test("a server peer answers each line; once it stops, it fails with one sentence and stays failed")
    func server() throws {
        let echo = try peer("echo_peer.py", "read line; echo \"{\\\"got\\\": \\\"$line\\\"}\"\n")
        let session = try echo.start(["--serve"], quiet: true)
        #expect(try session.ask("hello")["got"] as? String == "hello")
        #expect(throws: PythonPeer.Failure.self) { try session.ask("again") }
        #expect(session.failed)
        session.stop()
    }

    @Test("a missing interpreter or script is reported before anything runs")
    func missing() {
        do {
            _ = try PythonPeer.find(.faiss, script: "faiss_search_peer.py", python: "/nonexistent/python")
            Issue.record("found a peer that does not exist")
        } catch {
            #expect(
                "\(error)".hasPrefix("FAISS peer skipped: /nonexistent/python not found (set $DECOUPLE_FAISS_PYTHON"))
        }
        #expect(throws: PythonPeer.Failure.self) {
            try PythonPeer.find(.torch, script: "no_such_script.py", python: "/bin/sh") { _ in nil }
        }
    }

    @Test("the machine line and peak memory")
    func machine() {
        #expect(Machine.description.hasPrefix("machine: "))
        #expect(Machine.cores >= 1)
        Machine.resetPeakMemory()
        #expect(Machine.peakMemoryMB() > 0)
    }

    @Test("the process's CPU time grows by this thread's work, within the kernel's process clock")
    func cpuSeconds() {
        func clock(_ id: clockid_t) -> Double {
            var t = timespec()
            clock_gettime(id, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        let process0 = clock(CLOCK_PROCESS_CPUTIME_ID)
        let before = Machine.cpuSeconds()
        let thread0 = clock(CLOCK_THREAD_CPUTIME_ID)
        var x = 0.0
        while clock(CLOCK_THREAD_CPUTIME_ID) - thread0 < 0.05 {
            for i in 0..<10_000 { x += sin(Double(i)) }
        }
        let after = Machine.cpuSeconds()
        let process1 = clock(CLOCK_PROCESS_CPUTIME_ID)
        #expect(x.isFinite)
        // At least this thread's 50 ms; at most what the whole process used around the reads.
        #expect(after - before >= 0.045, "\(after - before) s")
        #expect(after - before <= process1 - process0 + 0.01, "\(after - before) s against \(process1 - process0) s")
    }
}
