import NN
import SafeTensors
import Tensor

/// The layer list of a bottleneck ResNet (R(2+1)D-26 or R3D-26) with checkpoint names.
///
/// Bottleneck(in, w, stride s), expansion 4: conv1 1x1x1 in→w, BN, ReLU; the middle convs
/// (R(2+1)D: conv2_s 1x3x3 + conv2_t 3x1x1; R3D: conv2 3x3x3), each with BN and ReLU, carrying
/// the stride s in time and space; conv3 1x1x1 w→4w, BN; plus the shortcut (the
/// `downsample` 1x1x1 conv with stride s and BN when the shape changes, else the input); ReLU.
struct ResNetSpec: Sendable {
    struct Block: Sendable {
        var conv1: ConvSpec
        var middle: [ConvSpec]
        var conv3: ConvSpec
        var downsample: ConvSpec?
        var convs: [ConvSpec] { [conv1] + middle + [conv3] + (downsample.map { [$0] } ?? []) }
    }

    var stem: [ConvSpec]
    /// The stem's max pool: 1x3x3, stride (1, 2, 2), padding (0, 1, 1).
    var pool = MaxPool3d(kernel: Dim3(1, 3, 3), stride: Dim3(1, 2, 2), padding: Dim3(0, 1, 1))
    /// layer1...layer4, each a list of blocks.
    var layers: [[Block]]

    /// Builds the layer list; `middle(prefix, inPlanes, planes, stride)` gives the block's
    /// middle convs, the one place where the two ResNets differ.
    init(config: BackboneConfig, stem: [ConvSpec], middle: (String, Int, Int, Int) -> [ConvSpec]) {
        self.stem = stem
        var inPlanes = config.stemChannels
        var layers: [[Block]] = []
        for (l, planes) in config.widths.enumerated() {
            var blocks: [Block] = []
            for b in 0..<config.blocks[l] {
                let stride = (l > 0 && b == 0) ? 2 : 1
                let p = "layer\(l + 1).\(b)."
                let conv1 = ConvSpec(
                    conv: p + "conv1", bn: p + "bn1", inChannels: inPlanes, outChannels: planes, kernel: Dim3(all: 1))
                let conv3 = ConvSpec(
                    conv: p + "conv3", bn: p + "bn3", inChannels: planes, outChannels: 4 * planes, kernel: Dim3(all: 1),
                    zeroInitBN: true)
                let downsample =
                    (stride != 1 || inPlanes != 4 * planes)
                    ? ConvSpec(
                        conv: p + "downsample.0", bn: p + "downsample.1", inChannels: inPlanes, outChannels: 4 * planes,
                        kernel: Dim3(all: 1), stride: Dim3(all: stride))
                    : nil
                blocks.append(
                    Block(
                        conv1: conv1, middle: middle(p, inPlanes, planes, stride), conv3: conv3, downsample: downsample)
                )
                inPlanes = 4 * planes
            }
            layers.append(blocks)
        }
        self.layers = layers
    }

    var convs: [ConvSpec] { stem + layers.flatMap { $0.flatMap(\.convs) } }
}

/// A bottleneck ResNet ready for inference: every conv with its BN folded in.
struct ResNet: Network {
    struct Block: Sendable {
        /// Checkpoint prefix, e.g. `layer2.0.`.
        var prefix: String
        var conv1: Conv3d
        var middle: [Conv3d]
        var middleNames: [String]
        var conv3: Conv3d
        var downsample: Conv3d?
    }

    let stem: [Conv3d]
    let stemNames: [String]
    let pool: MaxPool3d
    let layers: [[Block]]

    /// The layers of `spec` from its folded convs (`Loader.fold`), by checkpoint name.
    init(spec: ResNetSpec, convs: [String: Conv3d]) {
        stem = spec.stem.map { convs[$0.conv]! }
        stemNames = spec.stem.map(\.conv)
        pool = spec.pool
        layers = spec.layers.map { blocks in
            blocks.map { b in
                Block(
                    prefix: String(b.conv1.conv.dropLast("conv1".count)), conv1: convs[b.conv1.conv]!,
                    middle: b.middle.map { convs[$0.conv]! },
                    middleNames: b.middle.map(\.conv), conv3: convs[b.conv3.conv]!,
                    downsample: b.downsample.map { convs[$0.conv]! })
            }
        }
    }

    var outputChannels: Int { layers.last!.last!.conv3.outChannels }

    var stageNames: [String] {
        var names = ["stem_conv", "stem"]
        for (l, blocks) in layers.enumerated() {
            for b in blocks.indices { names.append(b == blocks.count - 1 ? "layer\(l + 1)" : "layer\(l + 1).\(b)") }
        }
        return names + ["output"]
    }

    /// Walks the shapes: every map the forward pass writes, and every conv with its input size.
    func walk(_ input: Dim3, map: (Int, Dim3) -> Void, conv: (String, Conv3d, Dim3) -> Void) {
        var size = input
        for (c, name) in zip(stem, stemNames) {
            conv(name, c, size)
            size = c.outputSize(size)
            map(c.outChannels, size)
        }
        size = pool.outputSize(size)
        map(stem.last!.outChannels, size)
        for blocks in layers {
            for b in blocks {
                var s = size
                for (c, name) in zip([b.conv1] + b.middle, [b.prefix + "conv1"] + b.middleNames) {
                    conv(name, c, s)
                    s = c.outputSize(s)
                    map(c.outChannels, s)
                }
                if let d = b.downsample {
                    conv(b.prefix + "downsample.0", d, size)
                    map(d.outChannels, d.outputSize(size))
                }
                conv(b.prefix + "conv3", b.conv3, s)
                map(b.conv3.outChannels, s)
                size = s
            }
        }
    }

    /// Four slots: a block reads its input from one and needs two for the middle maps and
    /// one for the shortcut. Its last conv adds into the shortcut map in place (the
    /// downsample's output, or the block input itself), which becomes the block output.
    var slotCount: Int { 4 }

    func forward(
        clip x: UnsafePointer<Float>, size input: Dim3, workspace ws: Workspace, threads: Int,
        output: UnsafeMutablePointer<Float>, capture: StageCapture?
    ) {
        var size = input
        var source = x
        var slot = 0
        // Stem convs, each with ReLU, ping-ponging through slots 0 and 1.
        for c in stem {
            let out = ws.slot(slot)
            c.forward(
                clip: source, size: size, into: out, relu: true, scratch: ws.scratch, scratchCount: ws.scratchCount,
                threads: threads)
            size = c.outputSize(size)
            source = UnsafePointer(out)
            slot = 1 - slot
        }
        var channels = stem.last!.outChannels
        capture?("stem_conv", source, [channels, size.t, size.h, size.w])
        let pooled = ws.slot(2)
        pool.forward(clip: source, channels: channels, size: size, into: pooled, threads: threads)
        size = pool.outputSize(size)
        capture?("stem", pooled, [channels, size.t, size.h, size.w])

        var current = 2
        for (l, blocks) in layers.enumerated() {
            for (bi, b) in blocks.enumerated() {
                // Slots other than the block input: two for the middle maps, one for the shortcut.
                let others = (0..<4).filter { $0 != current }
                let (t1, t2, shortcut) = (others[0], others[1], others[2])
                let xin = UnsafePointer(ws.slot(current))
                b.conv1.forward(
                    clip: xin, size: size, into: ws.slot(t1), relu: true, scratch: ws.scratch,
                    scratchCount: ws.scratchCount, threads: threads)
                var s = size
                var src = t1
                var dst = t2
                for c in b.middle {
                    c.forward(
                        clip: ws.slot(src), size: s, into: ws.slot(dst), relu: true, scratch: ws.scratch,
                        scratchCount: ws.scratchCount, threads: threads)
                    s = c.outputSize(s)
                    swap(&src, &dst)
                }
                if let d = b.downsample {
                    d.forward(
                        clip: xin, size: size, into: ws.slot(shortcut), scratch: ws.scratch,
                        scratchCount: ws.scratchCount, threads: threads)
                    current = shortcut
                }
                // The block input is dead once conv1 and the downsample have read it.
                b.conv3.forward(
                    clip: ws.slot(src), size: s, accumulatingInto: ws.slot(current), relu: true, scratch: ws.scratch,
                    scratchCount: ws.scratchCount, threads: threads)
                size = s
                channels = b.conv3.outChannels
                let name = bi == blocks.count - 1 ? "layer\(l + 1)" : "layer\(l + 1).\(bi)"
                capture?(name, ws.slot(current), [channels, size.t, size.h, size.w])
            }
        }
        GlobalAveragePool3d.forward(clip: ws.slot(current), channels: channels, volume: size.volume, into: output)
        capture?("output", output, [channels])
    }
}
