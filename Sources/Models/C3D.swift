import NN
import SafeTensors
import Tensor

// C3D with batch norm as CMD uses it (docs/method.md §7; adapted from DavideA/c3d-pytorch): eight
// 3x3x3 convs with bias and padding 1, each followed by BN and ReLU; max pools after conv1
// (1x2x2), conv2, conv3b and conv4b (2x2x2); no pool5 and no fc6/fc7: a global average pool of
// conv5b gives the 512-d output.

/// The C3D layer list with checkpoint names (`convX` / `bnX`).
struct C3DSpec: Sendable {
    enum Step: Sendable {
        case conv(ConvSpec)
        case pool(name: String, MaxPool3d)
    }

    var steps: [Step]

    init(config: BackboneConfig) {
        let c = config.widths
        func conv(_ name: String, _ i: Int, _ o: Int) -> Step {
            .conv(
                ConvSpec(
                    conv: "conv" + name, bn: "bn" + name, inChannels: i, outChannels: o, kernel: Dim3(all: 3),
                    padding: Dim3(all: 1), hasBias: true))
        }
        let pool122 = MaxPool3d(kernel: Dim3(1, 2, 2))
        let pool222 = MaxPool3d(kernel: Dim3(all: 2))
        steps = [
            conv("1", 3, c[0]), .pool(name: "pool1", pool122),
            conv("2", c[0], c[1]), .pool(name: "pool2", pool222),
            conv("3a", c[1], c[2]), conv("3b", c[2], c[2]), .pool(name: "pool3", pool222),
            conv("4a", c[2], c[3]), conv("4b", c[3], c[3]), .pool(name: "pool4", pool222),
            conv("5a", c[3], c[4]), conv("5b", c[4], c[4]),
        ]
    }

    var convs: [ConvSpec] {
        steps.compactMap { if case .conv(let s) = $0 { return s } else { return nil } }
    }
}

/// C3D ready for inference: every conv with its BN folded in.
struct C3D: Network {
    enum Step: Sendable {
        case conv(name: String, Conv3d)
        case pool(name: String, MaxPool3d)
    }

    let steps: [Step]

    /// The steps of `spec` from its folded convs (`Loader.fold`), by checkpoint name.
    init(spec: C3DSpec, convs: [String: Conv3d]) {
        steps = spec.steps.map { step in
            switch step {
            case .conv(let s): return .conv(name: s.conv, convs[s.conv]!)
            case .pool(let name, let p): return .pool(name: name, p)
            }
        }
    }

    var outputChannels: Int {
        for case .conv(_, let c) in steps.reversed() { return c.outChannels }
        return 0
    }

    var stageNames: [String] {
        steps.map { step in
            switch step {
            case .conv(let name, _): return name
            case .pool(let name, _): return name
            }
        } + ["output"]
    }

    func walk(_ input: Dim3, map: (Int, Dim3) -> Void, conv: (String, Conv3d, Dim3) -> Void) {
        var size = input
        var channels = 3
        for step in steps {
            switch step {
            case .conv(let name, let c):
                conv(name, c, size)
                size = c.outputSize(size)
                channels = c.outChannels
            case .pool(_, let p):
                size = p.outputSize(size)
            }
            map(channels, size)
        }
    }

    /// Plain ping-pong: every step reads one slot and writes the other.
    var slotCount: Int { 2 }

    func forward(
        clip x: UnsafePointer<Float>, size input: Dim3, workspace ws: Workspace, threads: Int,
        output: UnsafeMutablePointer<Float>, capture: StageCapture?
    ) {
        var size = input
        var channels = 3
        var source = x
        var slot = 0
        for step in steps {
            let out = ws.slot(slot)
            switch step {
            case .conv(let name, let c):
                c.forward(
                    clip: source, size: size, into: out, relu: true, scratch: ws.scratch, scratchCount: ws.scratchCount,
                    threads: threads)
                size = c.outputSize(size)
                channels = c.outChannels
                capture?(name, out, [channels, size.t, size.h, size.w])
            case .pool(let name, let p):
                p.forward(clip: source, channels: channels, size: size, into: out, threads: threads)
                size = p.outputSize(size)
                capture?(name, out, [channels, size.t, size.h, size.w])
            }
            source = UnsafePointer(out)
            slot = 1 - slot
        }
        GlobalAveragePool3d.forward(clip: source, channels: channels, volume: size.volume, into: output)
        capture?("output", output, [channels])
    }
}
