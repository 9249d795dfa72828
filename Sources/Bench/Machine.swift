import Foundation
import NN
import Tensor

/// What every benchmark says about the machine it ran on, and the process's peak memory.
public enum Machine {
    /// `machine: AMD EPYC, 2 cores, 23 GiB`: the CPU model (from /proc/cpuinfo), the cores
    /// this process may use and the physical memory.
    public static var description: String {
        "machine: \(cpuModel), \(cores) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
    }

    /// The first `model name` of /proc/cpuinfo.
    public static var cpuModel: String {
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    }

    public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// `OpenBLAS Cooperlake kernels`, with `(OPENBLAS_CORETYPE=…)` when that variable chose them,
    /// and whether the thin convs run the direct kernels (`Conv3d.directKernelsAvailable`).
    public static var blasKernels: String {
        "OpenBLAS \(BLAS.coreName) kernels"
            + (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0))" } ?? "")
            + (Conv3d.directKernelsAvailable
                ? ", AVX-512 direct convolutions" : ", no direct convolutions (no AVX-512, or DECOUPLE_DIRECT_CONV=0)")
    }

    /// The float32 FMA peak of one core in GFLOP/s measured on the reference host (AMD EPYC
    /// Zen 4, about 32 FLOP per cycle at about 3.6 GHz: docs/backbone.md §3); benchmarks that
    /// report a share of the peak take it times their threads unless told another figure.
    public static let fmaPeakGFLOPSPerCore = 114.0

    /// The 1-minute load average (the machine may be shared); NaN when unknown.
    public static func loadAverage() -> Double {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) > 0 ? loads[0] : .nan
    }

    /// CPU seconds (user and system) this process has used so far, all its threads together.
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return .nan }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Resets the kernel's peak-RSS counter of this process (VmHWM), so that `peakMemoryMB`
    /// covers what runs from here on.
    public static func resetPeakMemory() {
        if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            h.write(Data("5".utf8))
            try? h.close()
        }
    }

    /// The peak resident memory of this process in MB (VmHWM of /proc/self/status, since the
    /// start or the last `resetPeakMemory`); NaN when unknown.
    public static func peakMemoryMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return .nan }
        return (line.split(separator: " ").compactMap { Double($0) }.first ?? .nan) / 1024
    }
}
