/// The three backbone families of CMD (docs/method.md §7).
public enum Architecture: String, Codable, Sendable, CaseIterable {
    /// resnet26_2p1d: R(2+1)D-26, Bottleneck [2, 2, 2, 2], every 3x3x3 split into 1x3x3 + 3x1x1.
    case r2plus1d = "r2p1d-26"
    /// resnet26_3d: R3D-26, the same network with full 3x3x3 convs.
    case r3d = "r3d-26"
    /// C3D with batch norm, eight 3x3x3 convs, global average pool.
    case c3d = "c3d"
}

/// Which backbone to build and at what width: the published configurations, and narrower ones
/// built by the same code (for tests, and for the compact model pretraining ships).
///
/// The command-line form is a model id (`r2p1d-26`, `r3d-26`, `c3d`) plus optional overrides,
/// e.g. `planes=16,32,64,128 stem=16 frames=8 size=32` (see `applying(overrides:)`).
public struct BackboneConfig: Codable, Sendable, Equatable, CustomStringConvertible {
    public var architecture: Architecture
    /// ResNets: the bottleneck widths of layer1...layer4 (64, 128, 256, 512; outputs are 4x).
    /// C3D: the channels of conv1, conv2, conv3a/b, conv4a/b, conv5a/b (64, 128, 256, 512, 512).
    public var widths: [Int]
    /// ResNets: channels out of the stem (64). Unused by C3D.
    public var stemChannels: Int
    /// ResNets: bottleneck blocks per layer ([2, 2, 2, 2]). Unused by C3D.
    public var blocks: [Int]
    /// The clip length the model expects (16).
    public var frames: Int
    /// The square crop the model expects (112).
    public var size: Int

    /// The published configuration of `architecture` (input 3x16x112x112).
    public init(_ architecture: Architecture) {
        self.architecture = architecture
        switch architecture {
        case .r2plus1d, .r3d:
            widths = [64, 128, 256, 512]
        case .c3d:
            widths = [64, 128, 256, 512, 512]
        }
        stemChannels = 64
        blocks = [2, 2, 2, 2]
        frames = 16
        size = 112
    }

    /// The published configuration for a command-line model id.
    /// - Throws: `ModelError` for an unknown id.
    public init(modelID: String) throws {
        guard let a = Architecture(rawValue: modelID.lowercased()) else {
            throw ModelError(
                "unknown model \"\(modelID)\"; use one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self.init(a)
    }

    /// The compact R(2+1)D-26 (planes 16/32/64/128, stem 16): 1,669,444 parameters, about
    /// 0.9 GMACs per 16x112x112 clip, 512-d output.
    public static let compactR2Plus1D: BackboneConfig = {
        var c = BackboneConfig(.r2plus1d)
        c.widths = [16, 32, 64, 128]
        c.stemChannels = 16
        return c
    }()

    /// The model id (`r2p1d-26`, ...).
    public var modelID: String { architecture.rawValue }

    /// Length of the output vector: 4 x the layer4 width for the ResNets (2048 at full
    /// width), the conv5 width for C3D (512).
    public var embeddingDimension: Int {
        architecture == .c3d ? widths[4] : 4 * widths[3]
    }

    /// The clip shape the model expects, `[3, frames, size, size]`.
    public var inputShape: [Int] { [3, frames, size, size] }

    /// True for the published widths (any frames/size).
    public var isPublishedWidth: Bool {
        let base = BackboneConfig(architecture)
        return widths == base.widths && stemChannels == base.stemChannels && blocks == base.blocks
    }

    public var description: String {
        var parts = [modelID]
        let base = BackboneConfig(architecture)
        if widths != base.widths {
            parts.append(
                "\(architecture == .c3d ? "channels" : "planes")=\(widths.map(String.init).joined(separator: ","))")
        }
        if architecture != .c3d && stemChannels != base.stemChannels { parts.append("stem=\(stemChannels)") }
        if architecture != .c3d && blocks != base.blocks {
            parts.append("blocks=\(blocks.map(String.init).joined(separator: ","))")
        }
        if frames != base.frames { parts.append("frames=\(frames)") }
        if size != base.size { parts.append("size=\(size)") }
        return parts.joined(separator: " ")
    }

    /// The largest value `applying(overrides:)` accepts.
    public static let largestOverride = 1_000_000

    /// This configuration with `key=value` overrides separated by spaces or semicolons:
    /// `planes=a,b,c,d` (ResNets) or `channels=a,b,c,d,e` (C3D), `stem=c`, `blocks=a,b,c,d`,
    /// `frames=t`, `size=s`. Example: `"planes=16,32,64,128 stem=16 frames=8 size=32"`.
    /// - Throws: `ModelError` naming the bad item.
    public func applying(overrides: String) throws -> BackboneConfig {
        var c = self
        let items = overrides.split(whereSeparator: { $0 == " " || $0 == ";" }).map(String.init)
        for item in items {
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw ModelError("config item \"\(item)\" is not key=value") }
            let list = kv[1].split(separator: ",").map { Int($0) }
            guard !list.isEmpty, list.allSatisfy({ $0 != nil && $0! > 0 }) else {
                throw ModelError("config item \"\(item)\" needs positive integers")
            }
            // Far above any model that fits in memory, and low enough that nothing derived from
            // a value (input side, embedding length, preprocessing) can overflow.
            guard list.allSatisfy({ $0! <= Self.largestOverride }) else {
                throw ModelError("config item \"\(item)\" has a value above \(Self.largestOverride)")
            }
            let values = list.map { $0! }
            switch kv[0] {
            case "planes", "channels", "widths":
                let want = architecture == .c3d ? 5 : 4
                guard values.count == want else {
                    throw ModelError("\(kv[0]) for \(modelID) needs \(want) values, got \(values.count)")
                }
                c.widths = values
            case "stem":
                guard values.count == 1, architecture != .c3d else {
                    throw ModelError("stem=C applies to the ResNets only, with one value")
                }
                c.stemChannels = values[0]
            case "blocks":
                guard values.count == 4, architecture != .c3d else {
                    throw ModelError("blocks needs 4 values and applies to the ResNets only")
                }
                c.blocks = values
            case "frames":
                guard values.count == 1 else { throw ModelError("frames takes one value") }
                c.frames = values[0]
            case "size":
                guard values.count == 1 else { throw ModelError("size takes one value") }
                c.size = values[0]
            default:
                throw ModelError("unknown config key \"\(kv[0])\" (planes, channels, stem, blocks, frames, size)")
            }
        }
        return c
    }
}

/// A model that cannot be built or run as asked. `description` is one sentence.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
