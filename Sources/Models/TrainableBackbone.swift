import NN
import SafeTensors
import Tensor

/// A backbone that trains: R(2+1)D-26, R3D-26 or C3D at any `BackboneConfig`, and the
/// BasicBlock ResNet-10s of CMD's helper networks (`ResNet10Config`), built from the same
/// layer lists as the inference models, so every parameter and buffer carries its inference
/// checkpoint name (`conv1_s.weight`, `layer1.0.downsample.1.running_var`, ...) and
/// `stateDict()` loads into `Backbone` with the strict loader.
///
/// ```swift
/// let net = try TrainableBackbone(config: .compactR2Plus1D, seed: 1)
/// let out = net.forward(clips, threads: 2)                // clips [N, 3, T, H, W]
/// // out.stages["layer3"], out.stages["layer4"]: [N, C, T', H', W']; out.pooled: [N, D]
/// net.backward(out.cache, gradients: ["pooled": dPooled, "layer3": dLayer3], threads: 2)
/// ```
///
/// Every conv is followed by a training-mode `BatchNormLayer` (eval mode after `eval()`),
/// and ReLU; a residual block ends with `relu(bn3(conv3(...)) + shortcut)` fused into the
/// last batch norm. Forward passes keep, per conv, its input and its batch norm's output
/// (the cache), which is what the backward pass reads.
public final class TrainableBackbone: ParameterContainer {
    /// One conv and the batch norm after it.
    final class Unit {
        let conv: Conv3dLayer
        let bn: BatchNormLayer
        init(_ spec: ConvSpec, rng: inout SeededRandom) {
            // Kaiming normal, fan_out, ReLU gain (the reference init, `Backbone.randomStateDict`).
            let fanOut = spec.outChannels * spec.kernel.volume
            let std = Float((2.0 / Double(fanOut)).squareRoot())
            conv = Conv3dLayer(
                name: spec.conv, weight: Tensor.normal(shape: spec.weightShape, std: std, using: &rng),
                bias: spec.hasBias ? Tensor(shape: [spec.outChannels]) : nil, stride: spec.stride, padding: spec.padding
            )
            bn = BatchNormLayer(name: spec.bn, channels: spec.outChannels)
            if spec.zeroInitBN { bn.weight.value = Tensor(shape: [spec.outChannels]) }
        }
        var parameters: [Parameter] { conv.parameters + bn.parameters }
        var buffers: [Buffer] { bn.buffers }
    }

    /// A residual block: `units` in a chain (ReLU after all but the last), the shortcut
    /// (`downsample` or the identity), then `relu(last + shortcut)`.
    final class Block {
        let units: [Unit]
        let downsample: Unit?
        init(units: [Unit], downsample: Unit?) {
            self.units = units
            self.downsample = downsample
        }
    }

    enum Step {
        case unit(Unit)
        case pool(MaxPool3dLayer)
        case block(Block)
    }

    /// The steps in order, each with the stage name its output is published under (or nil).
    let steps: [(step: Step, stage: String?)]
    /// The configuration, for the three CMD backbones (nil for a ResNet-10).
    public let config: BackboneConfig?
    /// A short description ("r2p1d-26 planes=16,32,64,128 stem=16", "resnet10 frame2D ...").
    public let name: String

    /// Names of the stages `forward` returns, in order (plus `pooled`): ResNets `stem`,
    /// `layer1` … `layer4`; C3D `conv1`, `pool1`, … `conv5b`.
    public var stageNames: [String] { steps.compactMap(\.stage) }

    /// Channels of the pooled output.
    public let outputChannels: Int

    // MARK: - Building

    /// A freshly initialised backbone (the reference init of `Backbone.randomStateDict`:
    /// Kaiming normal fan_out convs, BN weight 1 and bias 0, zero-init of every `bn3`), drawn
    /// from `seed`.
    public convenience init(config: BackboneConfig, seed: UInt64) throws {
        try Backbone.validate(config)
        var rng = SeededRandom(seed: seed)
        self.init(plan: Self.plan(config), config: config, name: config.description, rng: &rng)
    }

    /// A backbone holding the values of a state dict (inference checkpoint names, loaded
    /// strictly: see `CheckpointError`).
    public convenience init(
        config: BackboneConfig, tensors: [String: FloatTensor], prefix: String = "", source: String = "state dict"
    ) throws {
        try Backbone.validate(config)
        let checked = try Loader.check(tensors, config: config, prefix: prefix, source: source)
        var rng = SeededRandom(seed: 0)
        self.init(plan: Self.plan(config), config: config, name: config.description, rng: &rng)
        try load(checked.mapValues { Tensor(shape: $0.shape, data: $0.values) }, source: source)
    }

    /// One of CMD's helper ResNet-10s, freshly initialised from `seed`.
    public convenience init(resnet10 c: ResNet10Config, seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        self.init(plan: c.plan, config: nil, name: c.description, rng: &rng)
    }

    /// The layer list as steps of specs: a unit, a pool or a block (units + downsample).
    enum PlanStep {
        case unit(ConvSpec)
        case pool(MaxPool3d)
        case block([ConvSpec], ConvSpec?)
    }

    static func plan(_ config: BackboneConfig) -> [(PlanStep, String?)] {
        switch config.architecture {
        case .r2plus1d: return resNetPlan(.r2plus1d(config))
        case .r3d: return resNetPlan(.r3d(config))
        case .c3d:
            return C3DSpec(config: config).steps.map { step in
                switch step {
                case .conv(let s): return (.unit(s), s.conv)
                case .pool(let name, let p): return (.pool(p), name)
                }
            }
        }
    }

    static func resNetPlan(_ spec: ResNetSpec) -> [(PlanStep, String?)] {
        var plan: [(PlanStep, String?)] = spec.stem.map { (.unit($0), nil) }
        plan.append((.pool(spec.pool), "stem"))
        for (l, blocks) in spec.layers.enumerated() {
            for (b, block) in blocks.enumerated() {
                plan.append(
                    (
                        .block([block.conv1] + block.middle + [block.conv3], block.downsample),
                        b == blocks.count - 1 ? "layer\(l + 1)" : nil
                    ))
            }
        }
        return plan
    }

    init(plan: [(PlanStep, String?)], config: BackboneConfig?, name: String, rng: inout SeededRandom) {
        var steps: [(Step, String?)] = []
        var channels = 0
        for (p, stage) in plan {
            switch p {
            case .unit(let s):
                steps.append((.unit(Unit(s, rng: &rng)), stage))
                channels = s.outChannels
            case .pool(let pool):
                steps.append(
                    (.pool(MaxPool3dLayer(kernel: pool.kernel, stride: pool.stride, padding: pool.padding)), stage))
            case .block(let specs, let down):
                let units = specs.map { Unit($0, rng: &rng) }
                steps.append((.block(Block(units: units, downsample: down.map { Unit($0, rng: &rng) })), stage))
                channels = specs.last!.outChannels
            }
        }
        self.steps = steps
        self.config = config
        self.name = name
        outputChannels = channels
    }

    // MARK: - Parameters, buffers, modes

    var units: [Unit] {
        steps.flatMap { s -> [Unit] in
            switch s.step {
            case .unit(let u): return [u]
            case .pool: return []
            case .block(let b): return b.units + (b.downsample.map { [$0] } ?? [])
            }
        }
    }

    /// Every conv weight (and bias) and BN weight and bias, in checkpoint-table order.
    public var parameters: [Parameter] { units.flatMap(\.parameters) }

    /// Every BN's running mean and variance.
    public var buffers: [Buffer] { units.flatMap(\.buffers) }

    /// Batch statistics in every batch norm (training) or running statistics (eval).
    public var training: Bool {
        get { units.first?.bn.training ?? true }
        set { for u in units { u.bn.training = newValue } }
    }

    public func train() { training = true }
    public func eval() { training = false }

    /// The state dict under inference checkpoint names (parameters and running statistics;
    /// with `batchCounts`, also every `<bn>.num_batches_tracked` as a float).
    public func stateDict(batchCounts: Bool = false) -> [String: FloatTensor] {
        var out: [String: FloatTensor] = [:]
        for p in parameters { out[p.name] = FloatTensor(shape: p.shape, values: p.value.data) }
        for b in buffers { out[b.name] = FloatTensor(shape: b.value.shape, values: b.value.data) }
        if batchCounts {
            for u in units {
                out[u.bn.runningMean.name.replacingOccurrences(of: ".running_mean", with: ".num_batches_tracked")] =
                    FloatTensor(shape: [], values: [Float(u.bn.batchesTracked)])
            }
        }
        return out
    }

    /// Sets every parameter and buffer from `tensors` (same names and shapes, nothing more or
    /// less, except optional `num_batches_tracked`), e.g. to resume training.
    public func load(_ tensors: [String: Tensor], source: String = "state dict") throws {
        var error = CheckpointError(source: source, model: name, missing: [], unexpected: [], misshaped: [])
        var known = Set<String>()
        func take(_ name: String, _ shape: [Int], _ set: (Tensor) -> Void) {
            known.insert(name)
            guard let t = tensors[name] else {
                return error.missing.append(CheckpointKey(name: name, shape: shape, role: .convWeight))
            }
            guard t.shape == shape else {
                return error.misshaped.append(.init(name: name, expected: shape, found: t.shape))
            }
            set(t)
        }
        for p in parameters { take(p.name, p.shape) { p.value = $0 } }
        for b in buffers { take(b.name, b.value.shape) { b.value = $0 } }
        for u in units {
            let key = u.bn.runningMean.name.replacingOccurrences(of: ".running_mean", with: ".num_batches_tracked")
            known.insert(key)
            if let t = tensors[key], t.count == 1 { u.bn.batchesTracked = Int(t.data[0]) }
        }
        for name in tensors.keys.sorted() where !known.contains(name) {
            error.unexpected.append(CheckpointKey(name: name, shape: tensors[name]!.shape, role: .convWeight))
        }
        if !error.missing.isEmpty || !error.unexpected.isEmpty || !error.misshaped.isEmpty { throw error }
    }

    // MARK: - Forward and backward

    /// What `backward` needs, step by step.
    public struct Cache {
        enum StepCache {
            case unit(Conv3dLayer.Cache, BatchNormLayer.Cache)
            case pool(MaxPool3dLayer.Cache)
            case block([(Conv3dLayer.Cache, BatchNormLayer.Cache)], (Conv3dLayer.Cache, BatchNormLayer.Cache)?)
        }
        var steps: [StepCache]
        /// Shape of the last map (the global average pool's input).
        var lastShape: [Int]
    }

    /// The forward pass's results: every named stage `[N, C, T, H, W]`, the global average
    /// `pooled [N, outputChannels]`, and the cache.
    public struct Output {
        public var stages: [String: Tensor]
        public var pooled: Tensor
        public var cache: Cache
    }

    /// `x [N, Cin, T, H, W]` → stages and pooled output. Convs run clips across `threads`.
    /// With `through`, the pass stops after that stage (a reader that needs no later map):
    /// `pooled` is then that stage's average, and the cache is good for no backward pass.
    public func forward(_ x: Tensor, threads: Int = 1, through: String? = nil) -> Output {
        precondition(through.map(stageNames.contains) ?? true, "no stage named \(through!)")
        var h = x
        var caches: [Cache.StepCache] = []
        var stages: [String: Tensor] = [:]
        caches.reserveCapacity(steps.count)
        for (step, stage) in steps {
            switch step {
            case .unit(let u):
                let (z, cc) = u.conv.forward(h, threads: threads)
                let (a, bc) = u.bn.forward(z, relu: true, threads: threads)
                caches.append(.unit(cc, bc))
                h = a
            case .pool(let p):
                let (y, pc) = p.forward(h, threads: threads)
                caches.append(.pool(pc))
                h = y
            case .block(let b):
                var inner: [(Conv3dLayer.Cache, BatchNormLayer.Cache)] = []
                var shortcut = h
                var down: (Conv3dLayer.Cache, BatchNormLayer.Cache)?
                if let d = b.downsample {
                    let (z, cc) = d.conv.forward(h, threads: threads)
                    let (s, bc) = d.bn.forward(z, threads: threads)
                    down = (cc, bc)
                    shortcut = s
                }
                var a = h
                for (i, u) in b.units.enumerated() {
                    let last = i == b.units.count - 1
                    let (z, cc) = u.conv.forward(a, threads: threads)
                    let (y, bc) = u.bn.forward(z, residual: last ? shortcut : nil, relu: true, threads: threads)
                    inner.append((cc, bc))
                    a = y
                }
                caches.append(.block(inner, down))
                h = a
            }
            if let stage { stages[stage] = h }
            if let through, stage == through { break }
        }
        let pooled = GlobalAveragePool3d.forward(h)
        return Output(stages: stages, pooled: pooled, cache: Cache(steps: caches, lastShape: h.shape))
    }

    /// Adds every parameter gradient for the given output gradients: `pooled` (`[N, D]`) and
    /// any stage (`layer3`, `layer4`, …, shaped like the stage); gradients given for several
    /// of them add up where they meet. Returns the gradient of the input clip when
    /// `inputGradient` is true (nil otherwise: the first conv then skips its col2im).
    @discardableResult
    public func backward(_ cache: Cache, gradients: [String: Tensor], inputGradient: Bool = false, threads: Int = 1)
        -> Tensor?
    {
        let unknown = Set(gradients.keys).subtracting(stageNames + ["pooled"])
        precondition(unknown.isEmpty, "no stage named \(unknown.sorted()); stages are \(stageNames + ["pooled"])")
        var g: Tensor? = gradients["pooled"].map { GlobalAveragePool3d.backward($0, inputShape: cache.lastShape) }
        func add(_ extra: Tensor?) {
            guard let extra else { return }
            g = g.map { addTensors($0, extra, threads: threads) } ?? extra
        }
        // The first step that needs no input gradient: the first conv, unless asked.
        for i in stride(from: steps.count - 1, through: 0, by: -1) {
            let (step, stage) = steps[i]
            if let stage { add(gradients[stage]) }
            guard let dy = g else { continue }
            let wantInput = i > 0 || inputGradient
            switch (step, cache.steps[i]) {
            case (.unit(let u), .unit(let cc, let bc)):
                let (dz, _) = u.bn.backward(dy, cache: bc, threads: threads)
                g = u.conv.backward(dz, cache: cc, inputGradient: wantInput, threads: threads)
            case (.pool(let p), .pool(let pc)):
                g = p.backward(dy, cache: pc, threads: threads)
            case (.block(let b), .block(let inner, let down)):
                var d = dy
                var dShortcut: Tensor?
                for (j, u) in b.units.enumerated().reversed() {
                    let (dz, dres) = u.bn.backward(d, cache: inner[j].1, threads: threads)
                    if j == b.units.count - 1 { dShortcut = dres }
                    d = u.conv.backward(dz, cache: inner[j].0, inputGradient: true, threads: threads)!
                }
                if let dn = b.downsample, let (cc, bc) = down {
                    let (dz, _) = dn.bn.backward(dShortcut!, cache: bc, threads: threads)
                    d = addTensors(
                        d, dn.conv.backward(dz, cache: cc, inputGradient: true, threads: threads)!, threads: threads)
                } else {
                    d = addTensors(d, dShortcut!, threads: threads)
                }
                g = d
            default:
                preconditionFailure("cache does not belong to this backbone")
            }
        }
        return g
    }
}

/// CMD's helper networks (docs/method.md §4): ResNet-10s of BasicBlocks [1, 1, 1, 1].
/// - `frame2D`: the I-frame network, a 2D ResNet as 1x3x3 3D convs on one-frame clips: stem
///   conv 1x7x7 stride (1, 2, 2), max pool 1x3x3 stride (1, 2, 2), layers 2-4 stride 2 in space.
/// - `motion3D`: the motion-vector network, 3x3x3 convs, stem 3x7x7 with stride
///   `motionStemStride` (1 in CMD), the same max pool, layers 2-4 stride 2 in time and space.
///
/// Key names follow Hara's ResNets: `conv1`, `bn1`, `layer{L}.0.conv1/bn1/conv2/bn2`,
/// `layer{L}.0.downsample.0/1` (when the shape changes).
public struct ResNet10Config: Sendable, Codable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case frame2D
        case motion3D
    }

    public var kind: Kind
    public var inChannels: Int
    /// Widths of layer1...layer4 (64, 128, 256, 512 in CMD).
    public var widths: [Int]
    /// Channels out of the stem (64 in CMD).
    public var stemChannels: Int
    /// Blocks per layer ([1, 1, 1, 1]).
    public var blocks: [Int]
    /// The motion network's stem stride (1 in CMD; 2 halves the stem's cost).
    public var motionStemStride: Int

    public init(
        kind: Kind, inChannels: Int, widths: [Int] = [64, 128, 256, 512], stemChannels: Int? = nil,
        blocks: [Int] = [1, 1, 1, 1], motionStemStride: Int = 1
    ) {
        precondition(widths.count == 4 && blocks.count == 4, "ResNet-10 takes 4 widths and 4 block counts")
        self.kind = kind
        self.inChannels = inChannels
        self.widths = widths
        self.stemChannels = stemChannels ?? widths[0]
        self.blocks = blocks
        self.motionStemStride = motionStemStride
    }

    /// The I-frame network on RGB frames.
    public static func frame(widths: [Int] = [64, 128, 256, 512]) -> ResNet10Config {
        ResNet10Config(kind: .frame2D, inChannels: 3, widths: widths)
    }
    /// The motion network on (dx, dy) fields.
    public static func motion(widths: [Int] = [64, 128, 256, 512]) -> ResNet10Config {
        ResNet10Config(kind: .motion3D, inChannels: 2, widths: widths)
    }

    public var outputChannels: Int { widths[3] }

    public var description: String {
        "resnet10 \(kind.rawValue) in=\(inChannels) widths=\(widths.map(String.init).joined(separator: ",")) stem=\(stemChannels)"
            + (kind == .motion3D ? " stem-stride=\(motionStemStride)" : "")
    }

    var plan: [(TrainableBackbone.PlanStep, String?)] {
        let flat = kind == .frame2D
        let stem =
            flat
            ? ConvSpec(
                conv: "conv1", bn: "bn1", inChannels: inChannels, outChannels: stemChannels, kernel: Dim3(1, 7, 7),
                stride: Dim3(1, 2, 2), padding: Dim3(0, 3, 3))
            : ConvSpec(
                conv: "conv1", bn: "bn1", inChannels: inChannels, outChannels: stemChannels, kernel: Dim3(3, 7, 7),
                stride: Dim3(1, motionStemStride, motionStemStride), padding: Dim3(1, 3, 3))
        var plan: [(TrainableBackbone.PlanStep, String?)] = [
            (.unit(stem), nil),
            (.pool(MaxPool3d(kernel: Dim3(1, 3, 3), stride: Dim3(1, 2, 2), padding: Dim3(0, 1, 1))), "stem"),
        ]
        var inPlanes = stemChannels
        for (l, planes) in widths.enumerated() {
            for b in 0..<blocks[l] {
                let s = (l > 0 && b == 0) ? 2 : 1
                let p = "layer\(l + 1).\(b)."
                let stride = flat ? Dim3(1, s, s) : Dim3(all: s)
                let kernel = flat ? Dim3(1, 3, 3) : Dim3(all: 3)
                let pad = flat ? Dim3(0, 1, 1) : Dim3(all: 1)
                let c1 = ConvSpec(
                    conv: p + "conv1", bn: p + "bn1", inChannels: inPlanes, outChannels: planes, kernel: kernel,
                    stride: stride, padding: pad)
                let c2 = ConvSpec(
                    conv: p + "conv2", bn: p + "bn2", inChannels: planes, outChannels: planes, kernel: kernel,
                    padding: pad)
                let down =
                    (s != 1 || inPlanes != planes)
                    ? ConvSpec(
                        conv: p + "downsample.0", bn: p + "downsample.1", inChannels: inPlanes, outChannels: planes,
                        kernel: Dim3(all: 1), stride: stride)
                    : nil
                plan.append((.block([c1, c2], down), b == blocks[l] - 1 ? "layer\(l + 1)" : nil))
                inPlanes = planes
            }
        }
        return plan
    }
}

extension TrainableBackbone {
    /// Multiply-accumulates of the convs of one forward pass of one clip of `size` (T, H, W):
    /// the total, and the first conv's alone (a training step computes no input gradient for
    /// it, so its backward pass costs one GEMM instead of two). Batch norm, ReLU and pooling are
    /// not counted.
    public func multiplyAccumulates(input size: Dim3) -> (total: Int, first: Int) {
        var total = 0
        var first: Int?
        var s = size
        func conv(_ u: Unit, _ at: Dim3) -> Dim3 {
            let g = u.conv.geometry(input: at)
            let macs = u.conv.weight.shape[0] * g.k * g.n
            total += macs
            if first == nil { first = macs }
            return g.output
        }
        for (step, _) in steps {
            switch step {
            case .unit(let u): s = conv(u, s)
            case .pool(let p): s = p.pool.outputSize(s)
            case .block(let b):
                let input = s
                for u in b.units { s = conv(u, s) }
                if let d = b.downsample { _ = conv(d, input) }
            }
        }
        return (total, first ?? 0)
    }
}
