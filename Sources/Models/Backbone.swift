import Foundation
import NN
import SafeTensors
import Tensor

/// A video backbone ready for inference: R(2+1)D-26, R3D-26 or C3D at any configured width,
/// with every batch norm folded into the conv before it.
///
/// ```swift
/// let model = try Backbone(config: BackboneConfig(modelID: "r2p1d-26"), weightsAt: "r2p1d.safetensors")
/// let embedding = model.forward(clips, threads: 2)   // [N, 3, 16, 112, 112] → [N, 2048]
/// ```
///
/// Thread safety: a `Backbone` is immutable once built; each forward pass takes a workspace of
/// its own, so any number of threads may call `forward` on one instance at once. For one clip
/// per core, call `BLAS.setThreads(1)` first and pass `threads: 1`.
public final class Backbone: @unchecked Sendable {
    /// How a batch is spread over threads.
    public enum Parallelism: Sendable {
        /// Clips across workers when there are several clips and threads, else within the clip.
        case auto
        /// Clips one after another, each using all threads (im2col, epilogue, OpenBLAS).
        case withinClip
        /// Up to `threads` clips at once, each on one thread with one OpenBLAS thread.
        case acrossClips
    }

    public let config: BackboneConfig
    let network: Network
    let tileFloats: Int
    private let pool = WorkspacePool()

    /// How long building this backbone took, phase by phase, in milliseconds: `open` (map the
    /// file and read its header; weights files only), `check` (every key and shape against the
    /// key table), `fold` (each conv read in place, folded with its batch norm, packed, and
    /// its Winograd form made; spread over the cores). For `bench model --startup`.
    public let loadMilliseconds: [(phase: String, milliseconds: Double)]

    /// Builds the model from a state dict (PyTorch names, as in the checkpoint files), loading
    /// strictly: see `CheckpointError`. `prefix` selects a sub-module (e.g. `"rgb_backbone."`),
    /// `source` names the dict in errors. `im2colTileFloats` bounds the im2col scratch per
    /// forward pass (default 16 MB).
    public convenience init(
        config: BackboneConfig, tensors: [String: FloatTensor], prefix: String = "", source: String = "state dict",
        im2colTileFloats: Int = 1 << 22
    ) throws {
        try self.init(
            config: config, from: TensorSource(tensors, prefix: prefix), sourceName: source,
            im2colTileFloats: im2colTileFloats, opened: [])
    }

    /// Loads a safetensors checkpoint strictly, reading the weights in place from the mapped
    /// file (no copy of the file is made; each conv's folded weights are written once).
    /// - Throws: `SafeTensorsError` for a file that is missing, truncated or not safetensors;
    ///   `CheckpointError` listing every missing, unexpected and mis-shaped key.
    public convenience init(
        config: BackboneConfig, weightsAt path: String, prefix: String = "", im2colTileFloats: Int = 1 << 22
    ) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let reader = try SafeTensorsReader(path: path)
        let opened = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        try self.init(
            config: config, from: TensorSource(reader, prefix: prefix), sourceName: path,
            im2colTileFloats: im2colTileFloats, opened: [("open", opened)])
    }

    private init(
        config: BackboneConfig, from tensors: TensorSource, sourceName: String, im2colTileFloats: Int,
        opened: [(phase: String, milliseconds: Double)]
    ) throws {
        try Self.validate(config)
        var clock = DispatchTime.now().uptimeNanoseconds
        var phases = opened
        func lap(_ phase: String) {
            let now = DispatchTime.now().uptimeNanoseconds
            phases.append((phase, Double(now - clock) / 1e6))
            clock = now
        }
        try Loader.check(shapes: tensors.shapes, config: config, prefix: tensors.prefix, source: sourceName)
        lap("check")
        let convs = Loader.fold(
            CheckpointKeys.convSpecs(config), from: tensors, threads: ProcessInfo.processInfo.activeProcessorCount)
        self.config = config
        switch config.architecture {
        case .r2plus1d: network = ResNet(spec: .r2plus1d(config), convs: convs)
        case .r3d: network = ResNet(spec: .r3d(config), convs: convs)
        case .c3d: network = C3D(spec: C3DSpec(config: config), convs: convs)
        }
        tileFloats = im2colTileFloats
        lap("fold")
        loadMilliseconds = phases
    }

    /// An untrained model with the reference initialisation drawn from `seed` (see
    /// `randomStateDict`), so it is the same on every machine.
    public convenience init(config: BackboneConfig, seed: UInt64, im2colTileFloats: Int = 1 << 22) throws {
        try self.init(
            config: config, tensors: Self.randomStateDict(config: config, seed: seed),
            source: "random init (seed \(seed))", im2colTileFloats: im2colTileFloats)
    }

    /// A state dict with the initialisation of the PyTorch modules (docs/method.md §7): conv weights
    /// Kaiming normal with fan_out and ReLU gain (std = sqrt(2 / (Cout·kT·kH·kW))), conv biases
    /// 0, BN weight 1 (0 for every ResNet `bn3`, zero_init_residual), bias 0, running mean 0,
    /// running variance 1. Tensors are drawn in key-table order from one `SeededRandom(seed)`.
    public static func randomStateDict(config: BackboneConfig, seed: UInt64) -> [String: FloatTensor] {
        var rng = SeededRandom(seed: seed)
        var out: [String: FloatTensor] = [:]
        let zeroInit = Set(CheckpointKeys.convSpecs(config).filter(\.zeroInitBN).map { $0.bn + ".weight" })
        for key in CheckpointKeys.table(for: config) {
            let count = key.shape.reduce(1, *)
            let values: [Float]
            switch key.role {
            case .convWeight:
                let fanOut = key.shape[0] * key.shape[2] * key.shape[3] * key.shape[4]
                let std = Float((2.0 / Double(fanOut)).squareRoot())
                values = (0..<count).map { _ in std * rng.nextNormal() }
            case .convBias, .bnBias, .bnRunningMean:
                values = [Float](repeating: 0, count: count)
            case .bnWeight:
                values = [Float](repeating: zeroInit.contains(key.name) ? 0 : 1, count: count)
            case .bnRunningVar:
                values = [Float](repeating: 1, count: count)
            }
            out[key.name] = FloatTensor(shape: key.shape, values: values)
        }
        return out
    }

    static func validate(_ config: BackboneConfig) throws {
        let widthsOK =
            config.widths.allSatisfy { $0 > 0 } && config.widths.count == (config.architecture == .c3d ? 5 : 4)
        guard widthsOK, config.stemChannels > 0, config.blocks.count == 4, config.blocks.allSatisfy({ $0 > 0 }) else {
            throw ModelError(
                "configuration \(config) is not valid (widths, stem and blocks must be positive; 4 widths for a ResNet, 5 for C3D)"
            )
        }
        guard config.frames > 0, config.size > 0 else {
            throw ModelError("configuration \(config) needs positive frames and size")
        }
    }

    // MARK: - Description

    /// Length of the output vector (2048 for the full ResNets, 512 for C3D).
    public var embeddingDimension: Int { network.outputChannels }

    /// The clip shape the model was configured for, `[3, T, H, W]` (`[3, 16, 112, 112]`).
    public var inputShape: [Int] { config.inputShape }

    /// Names of the stages `forwardStages` returns, in order: ResNets `stem_conv`, `stem`,
    /// `layer1.0`, `layer1`, … `layer4`, `output`; C3D `conv1`, `pool1`, `conv2`, … `conv5b`,
    /// `output`. (`layerN` is the output of layer N's last block.)
    public var stageNames: [String] { network.stageNames }

    /// Checks that clips of `shape` (`[N, 3, T, H, W]`) can run: three channels and a map that
    /// every conv and pool can still cover.
    public func validate(inputShape shape: [Int]) throws {
        guard shape.count == 5, shape[1] == 3 else {
            throw ModelError("\(config.modelID) takes input [N, 3, T, H, W], got \(shape)")
        }
        var ok = shape.allSatisfy { $0 > 0 }
        if ok {
            network.walk(
                Dim3(shape[2], shape[3], shape[4]), map: { _, s in if s.volume == 0 { ok = false } },
                conv: { _, _, _ in })
        }
        guard ok else {
            throw ModelError(
                "\(config.modelID) cannot run on clips of \(shape.dropFirst().map(String.init).joined(separator: "x")): a layer's output would be empty"
            )
        }
    }

    // MARK: - Forward

    /// `x [N, 3, T, H, W]` → `[N, embeddingDimension]`: the backbone and its global average
    /// pool, clip by clip. Any T, H, W that `validate(inputShape:)` accepts.
    public func forward(_ x: Tensor, threads: Int = 1, parallelism: Parallelism = .auto) -> Tensor {
        run(x, threads: threads, parallelism: parallelism, capture: false).output
    }

    /// Like `forward`, also returning every stage's output (`stageNames` order), each
    /// `[N, C, T, H, W]`, and finally `output` `[N, D]`.
    public func forwardStages(_ x: Tensor, threads: Int = 1) -> [(name: String, tensor: Tensor)] {
        run(x, threads: threads, parallelism: .withinClip, capture: true).stages
    }

    /// Bytes of the workspace one forward pass holds at input map `size`.
    public func workspaceBytes(frames: Int, height: Int, width: Int) -> Int {
        Workspace(network: network, size: Dim3(frames, height, width), tileFloats: tileFloats).bytes
    }

    /// Conv multiply-accumulates for one clip of `T x H x W` (FLOPs are twice this).
    public func multiplyAccumulates(frames: Int, height: Int, width: Int) -> Int {
        var macs = 0
        network.walk(Dim3(frames, height, width), map: { _, _ in }) { _, conv, size in
            let g = conv.geometry(input: size)
            macs += conv.outChannels * g.k * g.n
        }
        return macs
    }

    /// One conv of the network timed on its own (`convProfile`).
    public struct ConvTiming: Sendable {
        /// Checkpoint name of the conv (`layer1.0.conv2_s`).
        public var name: String
        /// `Conv3d.method`: the lowering, or "winograd".
        public var lowering: String
        /// The GEMM it lowers to: M = Cout, K = Cin·kT·kH·kW, N = output positions.
        public var m: Int, k: Int, n: Int
        /// Median milliseconds of one forward of this conv on one clip (epilogue included).
        public var milliseconds: Double
        public var gflops: Double { 2 * Double(m * k * n) / (milliseconds * 1e6) }
    }

    /// Times every conv on its own, at its real input size for clips of `T x H x W`, with
    /// random input, ReLU epilogue and this model's im2col tile size: the benchmark ladder's
    /// rung between sgemm and the whole model.
    public func convProfile(frames: Int, height: Int, width: Int, threads: Int, runs: Int = 5) -> [ConvTiming] {
        var convs: [(String, Conv3d, Dim3)] = []
        network.walk(Dim3(frames, height, width), map: { _, _ in }) { convs.append(($0, $1, $2)) }
        let ws = Workspace(network: network, size: Dim3(frames, height, width), tileFloats: tileFloats)
        var rng = SeededRandom(seed: 1)
        for i in 0..<ws.slotFloats { ws.slot(0)[i] = rng.nextNormal() }
        return convs.map { name, conv, size in
            let g = conv.geometry(input: size)
            var times: [Double] = []
            for r in 0...runs {
                let start = DispatchTime.now().uptimeNanoseconds
                conv.forward(
                    clip: ws.slot(0), size: size, into: ws.slot(1), relu: true, scratch: ws.scratch,
                    scratchCount: ws.scratchCount, threads: threads)
                if r > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }
            }
            times.sort()
            return ConvTiming(
                name: name, lowering: conv.method(input: size, scratchCount: ws.scratchCount, threads: threads),
                m: conv.outChannels, k: g.k, n: g.n, milliseconds: times[times.count / 2])
        }
    }

    /// Trainable parameters (BN folded or not, the checkpoint's count).
    public var parameterCount: Int { CheckpointKeys.parameterCount(for: config) }

    /// Releases the workspaces kept between calls.
    public func releaseWorkspaces() { pool.drain() }

    private func run(_ x: Tensor, threads: Int, parallelism: Parallelism, capture: Bool) -> (
        output: Tensor, stages: [(name: String, tensor: Tensor)]
    ) {
        precondition(x.rank == 5 && x.shape[1] == 3, "\(config.modelID) takes input [N, 3, T, H, W], got \(x.shape)")
        let n = x.shape[0]
        let size = Dim3(x.shape[2], x.shape[3], x.shape[4])
        let d = embeddingDimension
        let clipCount = 3 * size.volume
        let across: Bool
        switch parallelism {
        case .auto: across = threads > 1 && n > 1 && !capture
        case .withinClip: across = false
        case .acrossClips: across = !capture
        }
        var stageValues: [String: [Float]] = [:]
        var stageShapes: [String: [Int]] = [:]
        let output = Tensor(shape: [n, d]) { out in
            x.withUnsafeBufferPointer { xp in
                let input = xp.baseAddress!
                let dst = out.baseAddress!
                if across {
                    let workers = min(threads, n)
                    if BLAS.threads != 1 { BLAS.setThreads(1) }
                    let next = ManagedAtomicCounter()
                    parallelFor(workers, threads: workers) { _ in
                        while true {
                            let i = next.increment()
                            if i >= n { break }
                            self.forwardClip(
                                input + i * clipCount, size: size, into: dst + i * d, threads: 1, capture: nil)
                        }
                    }
                } else {
                    for i in 0..<n {
                        var hook: StageCapture?
                        if capture {
                            hook = { name, p, shape in
                                let count = shape.reduce(1, *)
                                if stageValues[name] == nil {
                                    stageValues[name] = []
                                    stageValues[name]!.reserveCapacity(n * count)
                                    stageShapes[name] = shape
                                }
                                stageValues[name]!.append(contentsOf: UnsafeBufferPointer(start: p, count: count))
                            }
                        }
                        forwardClip(
                            input + i * clipCount, size: size, into: dst + i * d, threads: threads, capture: hook)
                    }
                }
            }
        }
        let stages =
            capture
            ? network.stageNames.map { ($0, Tensor(shape: [n] + stageShapes[$0]!, data: stageValues[$0]!)) } : []
        return (output, stages)
    }

    private func forwardClip(
        _ clip: UnsafePointer<Float>, size: Dim3, into out: UnsafeMutablePointer<Float>, threads: Int,
        capture: StageCapture?
    ) {
        pool.with(size: size, make: { Workspace(network: network, size: size, tileFloats: tileFloats) }) { ws in
            network.forward(
                clip: clip, size: size, workspace: ws, threads: min(max(1, threads), Workspace.maxThreads), output: out,
                capture: capture)
        }
    }
}

/// A counter shared by worker threads (clip indices).
final class ManagedAtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    /// Returns the current value and adds one.
    func increment() -> Int {
        lock.withLock {
            defer { value += 1 }
            return value
        }
    }
}
