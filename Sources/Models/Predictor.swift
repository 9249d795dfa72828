import NN
import Tensor

/// The motion predictor of CMD (docs/method.md §4): a DETR-style post-norm Transformer
/// encoder-decoder that maps the clip's feature tokens to one prediction per future-motion
/// position.
///
/// Shapes: `tokens [B, S, inputChannels]` → `[B, T, dim]` (S source tokens, 98 in CMD; T
/// target positions, 49).
///
/// - `fc`: Linear inputChannels → dim, no bias, on every source token.
/// - Learned positional embeddings `k_embedding [S, dim]` (added to queries and keys of every
///   encoder self-attention, and to the keys of every decoder cross-attention) and
///   `q_embedding [T, dim]` (added to queries and keys of decoder self-attention and to the
///   queries of cross-attention), initialised U[0, 1).
/// - Encoder layers: self-attention, dropout, residual, LayerNorm; FFN (Linear, ReLU,
///   dropout, Linear), dropout, residual, LayerNorm. Decoder layers: self-attention,
///   cross-attention to the encoder output, FFN, each followed by dropout, residual and
///   LayerNorm; the decoder input is zeros; a final LayerNorm (DETR's `decoder.norm`).
///
/// Names follow CMD's whole-network checkpoint: `fc.weight`, `k_embedding.weight`,
/// `q_embedding.weight`, `transformer.encoder.layers.{i}.self_attn.in_proj_weight`, …,
/// `transformer.decoder.layers.{i}.multihead_attn.*`, `transformer.decoder.norm.*` (PyTorch
/// `nn.MultiheadAttention`, `linear1/2`, `norm1/2/3`).
public struct PredictorConfig: Sendable, Codable, Equatable {
    public var inputChannels = 2048
    public var dim = 512
    public var heads = 8
    public var encoderLayers = 2
    public var decoderLayers = 4
    public var feedForward = 512
    public var dropout: Float = 0.1
    public var sourceTokens = 98
    public var targetTokens = 49

    public init() {}
}

public final class Predictor: ParameterContainer {
    public let config: PredictorConfig
    public let fc: LinearLayer
    public let sourcePosition: Parameter
    public let targetPosition: Parameter
    let encoder: [EncoderLayer]
    let decoder: [DecoderLayer]
    public let decoderNorm: LayerNormLayer

    /// Xavier-uniform for every matrix of the Transformer (DETR's `_reset_parameters`), PyTorch's
    /// default Linear init for `fc` and the FFN biases, U[0, 1) for the embeddings; dropout
    /// masks seeded from `seed` too.
    public init(config c: PredictorConfig, seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        config = c
        let bound = 1 / Float(c.inputChannels).squareRoot()
        fc = LinearLayer(
            name: "fc", weight: Tensor.uniform(shape: [c.dim, c.inputChannels], low: -bound, high: bound, using: &rng))
        sourcePosition = Parameter(
            name: "k_embedding.weight", value: Tensor.uniform(shape: [c.sourceTokens, c.dim], using: &rng),
            kind: .embedding)
        targetPosition = Parameter(
            name: "q_embedding.weight", value: Tensor.uniform(shape: [c.targetTokens, c.dim], using: &rng),
            kind: .embedding)
        encoder = (0..<c.encoderLayers).map { EncoderLayer(name: "transformer.encoder.layers.\($0)", c, rng: &rng) }
        decoder = (0..<c.decoderLayers).map { DecoderLayer(name: "transformer.decoder.layers.\($0)", c, rng: &rng) }
        decoderNorm = LayerNormLayer(name: "transformer.decoder.norm", features: c.dim)
    }

    public var parameters: [Parameter] {
        fc.parameters + [sourcePosition, targetPosition] + encoder.flatMap(\.parameters) + decoder.flatMap(\.parameters)
            + decoderNorm.parameters
    }

    var dropouts: [DropoutLayer] { encoder.flatMap(\.dropouts) + decoder.flatMap(\.dropouts) }

    /// Dropout on (training) or off (eval).
    public var training: Bool {
        get { dropouts.first?.training ?? true }
        set { for d in dropouts { d.training = newValue } }
    }

    /// The dropout masks drawn so far, per layer (the random state to save for exact resumption).
    public var dropoutCalls: [UInt64] {
        get { dropouts.map(\.calls) }
        set { for (d, c) in zip(dropouts, newValue) { d.calls = c } }
    }

    public struct Cache {
        var fc: LinearLayer.Cache
        var encoder: [EncoderLayer.Cache]
        var decoder: [DecoderLayer.Cache]
        var norm: LayerNormLayer.Cache
        var batch: Int
    }

    /// `tokens [B, S, inputChannels]` → predictions `[B, T, dim]`.
    public func forward(_ tokens: Tensor, threads: Int = 1) -> (Tensor, Cache) {
        let c = config
        precondition(
            tokens.rank == 3 && tokens.shape[1] == c.sourceTokens && tokens.shape[2] == c.inputChannels,
            "predictor takes [B, \(c.sourceTokens), \(c.inputChannels)], got \(tokens.shape)")
        let b = tokens.shape[0]
        let (src0, fcCache) = fc.forward(tokens, threads: threads)
        let pos = broadcast(sourcePosition.value, batch: b)
        let queryPos = broadcast(targetPosition.value, batch: b)
        var memory = src0
        var encCaches: [EncoderLayer.Cache] = []
        for layer in encoder {
            let (y, cache) = layer.forward(memory, pos: pos, threads: threads)
            encCaches.append(cache)
            memory = y
        }
        var tgt = Tensor(shape: [b, c.targetTokens, c.dim])
        var decCaches: [DecoderLayer.Cache] = []
        for layer in decoder {
            let (y, cache) = layer.forward(tgt, memory: memory, pos: pos, queryPos: queryPos, threads: threads)
            decCaches.append(cache)
            tgt = y
        }
        let (out, normCache) = decoderNorm.forward(tgt)
        return (out, Cache(fc: fcCache, encoder: encCaches, decoder: decCaches, norm: normCache, batch: b))
    }

    /// Adds every parameter gradient for `dy [B, T, dim]`; returns the tokens' gradient.
    public func backward(_ dy: Tensor, cache: Cache, threads: Int = 1) -> Tensor {
        let c = config
        var dTgt = decoderNorm.backward(dy, cache: cache.norm)
        var dMemory = Tensor(shape: [cache.batch, c.sourceTokens, c.dim])
        var dPos = dMemory
        var dQueryPos = Tensor(shape: [cache.batch, c.targetTokens, c.dim])
        for (layer, lc) in zip(decoder, cache.decoder).reversed() {
            let g = layer.backward(dTgt, cache: lc, threads: threads)
            dTgt = g.tgt  // the zero decoder input's gradient is dropped after the first layer
            dMemory = dMemory + g.memory
            dPos = dPos + g.pos
            dQueryPos = dQueryPos + g.queryPos
        }
        for (layer, lc) in zip(encoder, cache.encoder).reversed() {
            let g = layer.backward(dMemory, cache: lc, threads: threads)
            dMemory = g.src
            dPos = dPos + g.pos
        }
        sourcePosition.accumulate(sumOverBatch(dPos))
        targetPosition.accumulate(sumOverBatch(dQueryPos))
        return fc.backward(dMemory, cache: cache.fc, threads: threads)
    }
}

/// `[L, D]` repeated over a batch: `[B, L, D]`.
func broadcast(_ t: Tensor, batch: Int) -> Tensor {
    var data: [Float] = []
    data.reserveCapacity(batch * t.count)
    for _ in 0..<batch { data.append(contentsOf: t.data) }
    return Tensor(shape: [batch] + t.shape, data: data)
}

/// `[B, L, D]` summed over the batch: `[L, D]`.
func sumOverBatch(_ t: Tensor) -> Tensor {
    let inner = Array(t.shape.dropFirst())
    let n = inner.reduce(1, *)
    var out = [Float](repeating: 0, count: n)
    t.withUnsafeBufferPointer { p in
        for b in 0..<t.shape[0] { for i in 0..<n { out[i] += p[b * n + i] } }
    }
    return Tensor(shape: inner, data: out)
}

extension Parameter {
    /// Adds a whole tensor of the parameter's shape into the gradient.
    func accumulate(_ t: Tensor) {
        precondition(t.count == value.count, "gradient \(t.shape) for \(name) \(shape)")
        t.withUnsafeBufferPointer { accumulate($0.baseAddress!, count: $0.count) }
    }
}

/// The feed-forward part of a Transformer layer: Linear, ReLU, dropout, Linear.
final class FeedForward {
    let linear1: LinearLayer
    let linear2: LinearLayer
    let dropout: DropoutLayer

    init(name: String, _ c: PredictorConfig, rng: inout SeededRandom) {
        let b1 = 1 / Float(c.dim).squareRoot()
        let b2 = 1 / Float(c.feedForward).squareRoot()
        linear1 = LinearLayer(
            name: name + ".linear1", weight: xavierUniform([c.feedForward, c.dim], rng: &rng),
            bias: Tensor.uniform(shape: [c.feedForward], low: -b1, high: b1, using: &rng))
        linear2 = LinearLayer(
            name: name + ".linear2", weight: xavierUniform([c.dim, c.feedForward], rng: &rng),
            bias: Tensor.uniform(shape: [c.dim], low: -b2, high: b2, using: &rng))
        dropout = DropoutLayer(p: c.dropout, seed: rng.next())
    }

    var parameters: [Parameter] { linear1.parameters + linear2.parameters }

    struct Cache {
        var l1: LinearLayer.Cache, relu: Tensor, drop: DropoutLayer.Cache, l2: LinearLayer.Cache
    }

    func forward(_ x: Tensor, threads: Int) -> (Tensor, Cache) {
        let (h, c1) = linear1.forward(x, threads: threads)
        let (a, r) = ReLU.forward(training: h)
        let (d, m) = dropout.forward(a)
        let (y, c2) = linear2.forward(d, threads: threads)
        return (y, Cache(l1: c1, relu: r, drop: m, l2: c2))
    }

    func backward(_ dy: Tensor, cache: Cache, threads: Int) -> Tensor {
        let dd = linear2.backward(dy, cache: cache.l2, threads: threads)
        let da = dropout.backward(dd, cache: cache.drop)
        let dh = ReLU.backward(da, output: cache.relu)
        return linear1.backward(dh, cache: cache.l1, threads: threads)
    }
}

/// DETR's `TransformerEncoderLayer.forward_post`.
final class EncoderLayer {
    let attention: MultiheadAttention
    let feedForward: FeedForward
    let norm1: LayerNormLayer, norm2: LayerNormLayer
    let dropout1: DropoutLayer, dropout2: DropoutLayer

    init(name: String, _ c: PredictorConfig, rng: inout SeededRandom) {
        attention = MultiheadAttention(
            name: name + ".self_attn", dim: c.dim, heads: c.heads, dropout: c.dropout, rng: &rng)
        feedForward = FeedForward(name: name, c, rng: &rng)
        norm1 = LayerNormLayer(name: name + ".norm1", features: c.dim)
        norm2 = LayerNormLayer(name: name + ".norm2", features: c.dim)
        dropout1 = DropoutLayer(p: c.dropout, seed: rng.next())
        dropout2 = DropoutLayer(p: c.dropout, seed: rng.next())
    }

    var parameters: [Parameter] { attention.parameters + feedForward.parameters + norm1.parameters + norm2.parameters }
    var dropouts: [DropoutLayer] { [attention.dropout, feedForward.dropout, dropout1, dropout2] }

    struct Cache {
        var attention: MultiheadAttention.Cache, drop1: DropoutLayer.Cache, norm1: LayerNormLayer.Cache
        var ffn: FeedForward.Cache, drop2: DropoutLayer.Cache, norm2: LayerNormLayer.Cache
    }

    func forward(_ src: Tensor, pos: Tensor, threads: Int) -> (Tensor, Cache) {
        let qk = src + pos
        let (a, ac) = attention.forward(query: qk, key: qk, value: src, threads: threads)
        let (ad, m1) = dropout1.forward(a)
        let (x1, n1) = norm1.forward(src + ad)
        let (f, fc) = feedForward.forward(x1, threads: threads)
        let (fd, m2) = dropout2.forward(f)
        let (y, n2) = norm2.forward(x1 + fd)
        return (y, Cache(attention: ac, drop1: m1, norm1: n1, ffn: fc, drop2: m2, norm2: n2))
    }

    func backward(_ dy: Tensor, cache: Cache, threads: Int) -> (src: Tensor, pos: Tensor) {
        let ds2 = norm2.backward(dy, cache: cache.norm2)
        let dx1 =
            ds2 + feedForward.backward(dropout2.backward(ds2, cache: cache.drop2), cache: cache.ffn, threads: threads)
        let ds1 = norm1.backward(dx1, cache: cache.norm1)
        let g = attention.backward(dropout1.backward(ds1, cache: cache.drop1), cache: cache.attention, threads: threads)
        let dqk = g.dQuery + g.dKey
        return (ds1 + g.dValue + dqk, dqk)
    }
}

/// DETR's `TransformerDecoderLayer.forward_post`.
final class DecoderLayer {
    let selfAttention: MultiheadAttention
    let crossAttention: MultiheadAttention
    let feedForward: FeedForward
    let norm1: LayerNormLayer, norm2: LayerNormLayer, norm3: LayerNormLayer
    let dropout1: DropoutLayer, dropout2: DropoutLayer, dropout3: DropoutLayer

    init(name: String, _ c: PredictorConfig, rng: inout SeededRandom) {
        selfAttention = MultiheadAttention(
            name: name + ".self_attn", dim: c.dim, heads: c.heads, dropout: c.dropout, rng: &rng)
        crossAttention = MultiheadAttention(
            name: name + ".multihead_attn", dim: c.dim, heads: c.heads, dropout: c.dropout, rng: &rng)
        feedForward = FeedForward(name: name, c, rng: &rng)
        norm1 = LayerNormLayer(name: name + ".norm1", features: c.dim)
        norm2 = LayerNormLayer(name: name + ".norm2", features: c.dim)
        norm3 = LayerNormLayer(name: name + ".norm3", features: c.dim)
        dropout1 = DropoutLayer(p: c.dropout, seed: rng.next())
        dropout2 = DropoutLayer(p: c.dropout, seed: rng.next())
        dropout3 = DropoutLayer(p: c.dropout, seed: rng.next())
    }

    var parameters: [Parameter] {
        selfAttention.parameters + crossAttention.parameters + feedForward.parameters + norm1.parameters
            + norm2.parameters + norm3.parameters
    }
    var dropouts: [DropoutLayer] {
        [selfAttention.dropout, crossAttention.dropout, feedForward.dropout, dropout1, dropout2, dropout3]
    }

    struct Cache {
        var selfAttention: MultiheadAttention.Cache, drop1: DropoutLayer.Cache, norm1: LayerNormLayer.Cache
        var crossAttention: MultiheadAttention.Cache, drop2: DropoutLayer.Cache, norm2: LayerNormLayer.Cache
        var ffn: FeedForward.Cache, drop3: DropoutLayer.Cache, norm3: LayerNormLayer.Cache
    }

    func forward(_ tgt: Tensor, memory: Tensor, pos: Tensor, queryPos: Tensor, threads: Int) -> (Tensor, Cache) {
        let qk = tgt + queryPos
        let (a, ac) = selfAttention.forward(query: qk, key: qk, value: tgt, threads: threads)
        let (ad, m1) = dropout1.forward(a)
        let (x1, n1) = norm1.forward(tgt + ad)
        let (b, bc) = crossAttention.forward(query: x1 + queryPos, key: memory + pos, value: memory, threads: threads)
        let (bd, m2) = dropout2.forward(b)
        let (x2, n2) = norm2.forward(x1 + bd)
        let (f, fc) = feedForward.forward(x2, threads: threads)
        let (fd, m3) = dropout3.forward(f)
        let (y, n3) = norm3.forward(x2 + fd)
        return (
            y,
            Cache(
                selfAttention: ac, drop1: m1, norm1: n1, crossAttention: bc, drop2: m2, norm2: n2, ffn: fc, drop3: m3,
                norm3: n3)
        )
    }

    func backward(_ dy: Tensor, cache: Cache, threads: Int) -> (
        tgt: Tensor, memory: Tensor, pos: Tensor, queryPos: Tensor
    ) {
        let d3 = norm3.backward(dy, cache: cache.norm3)
        let dx2 =
            d3 + feedForward.backward(dropout3.backward(d3, cache: cache.drop3), cache: cache.ffn, threads: threads)
        let d2 = norm2.backward(dx2, cache: cache.norm2)
        let cross = crossAttention.backward(
            dropout2.backward(d2, cache: cache.drop2), cache: cache.crossAttention, threads: threads)
        let dx1 = d2 + cross.dQuery
        let d1 = norm1.backward(dx1, cache: cache.norm1)
        let selfG = selfAttention.backward(
            dropout1.backward(d1, cache: cache.drop1), cache: cache.selfAttention, threads: threads)
        let dqk = selfG.dQuery + selfG.dKey
        return (d1 + selfG.dValue + dqk, cross.dKey + cross.dValue, cross.dKey, cross.dQuery + dqk)
    }
}
