import Tensor

/// Winograd's F(2x2, 3x3) for convs whose kernel is 3x3 in space (R(2+1)D's 1x3x3, R3D's and
/// C3D's 3x3x3), with stride 1 and spatial padding 1: each 2x2 block of outputs comes from a 4x4
/// input patch with 16 multiplies per channel pair and temporal tap instead of 36, so the GEMM
/// work drops 2.25 times (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
/// 2016).
///
/// Per frame, the output is cut into `th x tw` tiles of 2x2 (the last row or column of tiles
/// hangs over an odd edge and is clipped). Work goes in chunks of F output frames x S tiles:
/// 1. input transform of the F + kT - 1 input frames the chunk reads:
///    `V[ξ][cin][slot][s] = (Bᵀ d B)[ξ]` for the 4x4 patch `d` of tile `s` (zero for padding frames);
/// 2. per ξ, kT accumulated GEMMs `M[ξ] += U[d][ξ] · V[ξ]` shifted by d frames (as in
///    `Conv3d`'s temporal taps), `U[d][ξ] = (G g_d Gᵀ)[ξ]`, `[Cout, Cin]`, transformed once;
/// 3. output transform `y = Aᵀ M A` (2x2), then bias, residual and ReLU, written in place.
/// A chunk's V and M stay in cache between the steps.
///
/// The transformed weights cost 16/9 of the original; `Conv3d` keeps them only for convs of up
/// to 256 input channels (`applies`).
struct Winograd: Sendable {
    let inChannels: Int
    let outChannels: Int
    let taps: Int
    let padT: Int
    /// `[kT][16][Cout][Cin]`.
    let u: [Float]

    /// Whether `Conv3d` should carry a Winograd form of a conv with these parameters. With more
    /// input channels the maps are small (layer 4 of R(2+1)D-26 and R3D-26: 8 tiles per clip at
    /// the 112 crop) and the transformed weights large (38 MB for one R(2+1)D layer-4 conv).
    static func applies(kernel: Dim3, stride: Dim3, padding: Dim3, inChannels: Int) -> Bool {
        kernel.h == 3 && kernel.w == 3 && stride == Dim3(all: 1) && padding.h == 1 && padding.w == 1
            && inChannels <= maxInChannels
    }

    static let maxInChannels = 256

    /// Below this many tiles per worker the GEMMs are too narrow to beat im2col.
    static let minimumTilesPerWorker = 32

    /// A chunk holds at least this many tiles when the scratch allows, so that its 16 x kT
    /// GEMMs are wide enough to pay for repacking U (12.6 MB for C3D's conv3b).
    static let minimumChunkTiles = 128

    /// The weights of a conv with a 3x3 spatial kernel: `[Cout, Cin, kT, 3, 3]` as stored, or
    /// tap-major `[kT, Cout, Cin, 3, 3]` (`Conv3d`'s packed form for the temporal-tap
    /// lowerings); `padding` is the conv's temporal padding.
    init(
        weight w: UnsafePointer<Float>, tapMajor: Bool, outChannels co: Int, inChannels ci: Int, taps kt: Int,
        padding: Int
    ) {
        inChannels = ci
        outChannels = co
        taps = kt
        padT = padding
        let plane = co * ci
        // Every element is written: 16 values for each (tap, cout, cin).
        u = [Float](unsafeUninitializedCapacity: kt * 16 * plane) { up, initialized in
            let u = up.baseAddress!
            adviseHugePages(UnsafeMutableRawPointer(u), byteCount: 4 * up.count)
            for d in 0..<kt {
                for o in 0..<co {
                    for i in 0..<ci {
                        // Rows of g as vectors over its 3 columns (the 4th lane unused).
                        let g = w + (tapMajor ? (d * co + o) * ci + i : (o * ci + i) * kt + d) * 9
                        let g0 = SIMD4<Float>(g[0], g[1], g[2], 0)
                        let g1 = SIMD4<Float>(g[3], g[4], g[5], 0)
                        let g2 = SIMD4<Float>(g[6], g[7], g[8], 0)
                        // G g (4x3) with G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1], then each row times Gᵀ.
                        let rows = (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2)
                        // U[d][ξ] is [Cout, Cin]: ξ = 4·row + column.
                        let at = u + d * 16 * plane + o * ci + i
                        func put(_ row: SIMD4<Float>, _ r: Int) {
                            let values = SIMD4<Float>(
                                row[0], (row[0] + row[1] + row[2]) / 2, (row[0] - row[1] + row[2]) / 2, row[2])
                            for col in 0..<4 { at[(r * 4 + col) * plane] = values[col] }
                        }
                        put(rows.0, 0)
                        put(rows.1, 1)
                        put(rows.2, 2)
                        put(rows.3, 3)
                    }
                }
            }
            initialized = kt * 16 * plane
        }
    }

    /// Tiles of one frame for a map of `size`.
    static func tiles(_ size: Dim3) -> (rows: Int, columns: Int) { ((size.h + 1) / 2, (size.w + 1) / 2) }

    /// Output frames for `frames` input frames.
    func outputFrames(_ frames: Int) -> Int { frames + 2 * padT - taps + 1 }

    /// Floats of V and M for a chunk of `f` output frames x `s` tiles.
    func chunkFloats(frames f: Int, tiles s: Int) -> Int { 16 * s * (inChannels * (f + taps - 1) + outChannels * f) }

    /// Whether `forward` can run on `size` with `scratchCount` floats for `workers` workers.
    func fits(size: Dim3, scratchCount: Int, workers: Int) -> Bool {
        let (th, tw) = Self.tiles(size)
        let outT = outputFrames(size.t)
        return outT > 0 && outT * th * tw / workers >= Self.minimumTilesPerWorker
            && scratchCount / workers >= chunkFloats(frames: 1, tiles: min(th * tw, Self.minimumTilesPerWorker))
    }

    /// One clip: `x [Cin, T, H, W]` → `y = act(conv(x) + bias + residual)`, `[Cout, T', H, W]`.
    /// `scratch` is split between `workers`; see `fits`.
    func forward(
        clip x: UnsafePointer<Float>, size: Dim3, into y: UnsafeMutablePointer<Float>,
        bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, relu: Bool,
        scratch: UnsafeMutablePointer<Float>, scratchCount: Int, workers: Int, tileTargetFloats: Int
    ) {
        let (th, tw) = Self.tiles(size)
        let (tpf, outT) = (th * tw, outputFrames(size.t))
        let perWorker = scratchCount / workers
        let budget = min(
            perWorker, max(2 * tileTargetFloats, chunkFloats(frames: 1, tiles: min(tpf, Self.minimumChunkTiles))))
        // Whole frames when one fits the budget (as many as fit), else part of one frame.
        var (f, s) = (1, tpf)
        if chunkFloats(frames: 1, tiles: tpf) <= budget {
            while f < outT && chunkFloats(frames: f + 1, tiles: tpf) <= budget { f += 1 }
        } else {
            s = max(1, budget / chunkFloats(frames: 1, tiles: 1))
        }
        var frameChunks = (outT + f - 1) / f
        var tileChunks = (tpf + s - 1) / s
        if frameChunks * tileChunks < workers {
            frameChunks = min(outT, workers)
            tileChunks = max(tileChunks, (workers + frameChunks - 1) / frameChunks)
        }
        let chunks = frameChunks * tileChunks
        let out = Dim3(outT, size.h, size.w)
        let ybox = UncheckedSendable(y)
        u.withUnsafeBufferPointer { up in
            let u = up.baseAddress!
            parallelFor(min(workers, chunks), threads: workers) { worker in
                let v = scratch + worker * perWorker
                for c in Swift.stride(from: worker, to: chunks, by: workers) {
                    let (fc, sc) = (c / tileChunks, c % tileChunks)
                    let frames = (fc * outT / frameChunks)..<((fc + 1) * outT / frameChunks)
                    let tiles = (sc * tpf / tileChunks)..<((sc + 1) * tpf / tileChunks)
                    run(
                        x, size: size, frames: frames, tiles: tiles, u: u, scratch: v, into: ybox.value, out: out,
                        bias: bias, residual: residual, relu: relu)
                }
            }
        }
    }

    /// One chunk: output `frames` x in-frame `tiles`.
    private func run(
        _ x: UnsafePointer<Float>, size: Dim3, frames: Range<Int>, tiles: Range<Int>, u: UnsafePointer<Float>,
        scratch v: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, out: Dim3,
        bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, relu: Bool
    ) {
        let (ci, co, s) = (inChannels, outChannels, tiles.count)
        let slots = frames.count + taps - 1
        // V[ξ][cin][slot][s], then M[ξ][cout][frame][s].
        let (vChannel, vXi) = (slots * s, ci * slots * s)
        let (mChannel, mXi) = (frames.count * s, co * frames.count * s)
        let m = v + 16 * vXi
        for j in 0..<slots {
            let t = frames.lowerBound - padT + j
            if t >= 0 && t < size.t {
                transformInput(
                    x, size: size, frame: t, tiles: tiles, into: v + j * s, channelStride: vChannel, xiStride: vXi)
            } else {
                for k in 0..<(16 * ci) { (v + k * vChannel + j * s).initialize(repeating: 0, count: s) }
            }
        }
        for xi in 0..<16 {
            for d in 0..<taps {
                gemm(
                    .none, .none, m: co, n: frames.count * s, k: ci, a: u + (d * 16 + xi) * co * ci, lda: ci,
                    b: v + xi * vXi + d * s, ldb: vChannel, beta: d == 0 ? 0 : 1, c: m + xi * mXi, ldc: mChannel)
            }
        }
        for (i, frame) in frames.enumerated() {
            transformOutput(
                m + i * s, channelStride: mChannel, xiStride: mXi, size: out, frame: frame, tiles: tiles, into: y,
                bias: bias, residual: residual, relu: relu)
        }
    }

    /// Calls `body(tileRow, firstColumn, count, offset)` for each run of the in-frame `tiles`
    /// that lies in one row of tiles (`offset` = first tile - tiles.lowerBound).
    private func runs(_ tiles: Range<Int>, columns tw: Int, _ body: (Int, Int, Int, Int) -> Void) {
        var p = tiles.lowerBound
        while p < tiles.upperBound {
            let c = p % tw
            let count = min(tiles.upperBound - p, tw - c)
            body(p / tw, c, count, p - tiles.lowerBound)
            p += count
        }
    }

    /// Lanes: tiles handled together, one per SIMD lane.
    typealias Lanes = SIMD8<Float>

    /// `V[ξ·xiStride + cin·channelStride + s - tiles.lowerBound] = (Bᵀ d B)[ξ]`, d the 4x4
    /// patch of tile s of input `frame` (rows 2r-1...2r+2, columns 2c-1...2c+2, zero outside),
    /// with Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Eight tiles of a tile row at a
    /// time: the four patch rows are copied with their zero border into `rows`, whose even and
    /// odd elements are then the patch columns of eight neighbouring tiles.
    private func transformInput(
        _ x: UnsafePointer<Float>, size: Dim3, frame: Int, tiles: Range<Int>,
        into v: UnsafeMutablePointer<Float>, channelStride: Int, xiStride stride: Int
    ) {
        let (h, w) = (size.h, size.w)
        let tw = Self.tiles(size).columns
        let rowLength = 2 * tw + 2 + 2 * Lanes.scalarCount
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: 4 * rowLength)
        defer { rows.deallocate() }
        for i in 0..<inChannels {
            let plane = x + (i * size.t + frame) * h * w
            runs(tiles, columns: tw) { r, c, count, offset in
                // rows[k][j] = input (2r - 1 + k, 2c - 1 + j), zero outside the frame.
                rows.initialize(repeating: 0, count: 4 * rowLength)
                let (left, span) = (2 * c - 1, 2 * count + 2)
                let (from, to) = (max(0, left), min(w, left + span))
                for k in 0..<4 {
                    let y = 2 * r - 1 + k
                    if y < 0 || y >= h || from >= to { continue }
                    (rows + k * rowLength + (from - left)).update(from: plane + y * w + from, count: to - from)
                }
                let out = v + i * channelStride + offset
                for g in Swift.stride(from: 0, to: count, by: Lanes.scalarCount) {
                    func columns(_ k: Int) -> (Lanes, Lanes, Lanes, Lanes) {
                        let a = UnsafeRawPointer(rows + k * rowLength + 2 * g).loadUnaligned(as: SIMD16<Float>.self)
                        let b = UnsafeRawPointer(rows + k * rowLength + 2 * g + 2).loadUnaligned(as: SIMD16<Float>.self)
                        let (c0, c1, c2, c3) = (a.evenHalf, a.oddHalf, b.evenHalf, b.oddHalf)
                        return (c0 - c2, c1 + c2, c2 - c1, c1 - c3)
                    }
                    let (d0, d1, d2, d3) = (columns(0), columns(1), columns(2), columns(3))
                    let lanes = min(Lanes.scalarCount, count - g)
                    func store(_ value: Lanes, _ xi: Int) { storeLanes(value, lanes, to: out + xi * stride + g) }
                    store(d0.0 - d2.0, 0)
                    store(d0.1 - d2.1, 1)
                    store(d0.2 - d2.2, 2)
                    store(d0.3 - d2.3, 3)
                    store(d1.0 + d2.0, 4)
                    store(d1.1 + d2.1, 5)
                    store(d1.2 + d2.2, 6)
                    store(d1.3 + d2.3, 7)
                    store(d2.0 - d1.0, 8)
                    store(d2.1 - d1.1, 9)
                    store(d2.2 - d1.2, 10)
                    store(d2.3 - d1.3, 11)
                    store(d1.0 - d3.0, 12)
                    store(d1.1 - d3.1, 13)
                    store(d1.2 - d3.2, 14)
                    store(d1.3 - d3.3, 15)
                }
            }
        }
    }

    /// Output `frame` of `y` (map `size`) for the in-frame `tiles`: `act(Aᵀ M A + bias +
    /// residual)`, clipped at odd edges, with Aᵀ = [1 1 1 0; 0 1 -1 -1], M read at
    /// `m[ξ·xiStride + cout·channelStride + s - tiles.lowerBound]`; eight tiles at a time.
    private func transformOutput(
        _ m: UnsafePointer<Float>, channelStride: Int, xiStride stride: Int, size: Dim3, frame: Int, tiles: Range<Int>,
        into y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, relu: Bool
    ) {
        let (h, w) = (size.h, size.w)
        let tw = Self.tiles(size).columns
        for o in 0..<outChannels {
            let b = bias?[o] ?? 0
            let src = m + o * channelStride
            let plane = (o * size.t + frame) * h * w
            runs(tiles, columns: tw) { r, c, count, offset in
                for g in Swift.stride(from: 0, to: count, by: Lanes.scalarCount) {
                    let q = src + offset + g
                    func load(_ xi: Int) -> Lanes { UnsafeRawPointer(q + xi * stride).loadUnaligned(as: Lanes.self) }
                    // Aᵀ M over the rows of each 4x4 M, then times A over the columns.
                    let s0 = (
                        load(0) + load(4) + load(8), load(1) + load(5) + load(9), load(2) + load(6) + load(10),
                        load(3) + load(7) + load(11)
                    )
                    let s1 = (
                        load(4) - load(8) - load(12), load(5) - load(9) - load(13), load(6) - load(10) - load(14),
                        load(7) - load(11) - load(15)
                    )
                    var top = SIMD16<Float>()
                    var bottom = SIMD16<Float>()
                    top.evenHalf = s0.0 + s0.1 + s0.2
                    top.oddHalf = s0.1 - s0.2 - s0.3
                    bottom.evenHalf = s1.0 + s1.1 + s1.2
                    bottom.oddHalf = s1.1 - s1.2 - s1.3
                    let lanes = min(Lanes.scalarCount, count - g)
                    let (row, column) = (2 * r, 2 * (c + g))
                    let width = min(2 * lanes, w - column)
                    func put(_ values: SIMD16<Float>, _ dy: Int) {
                        if row + dy >= h { return }
                        let at = plane + (row + dy) * w + column
                        var v = values + b
                        if let residual { v += loadLanes(residual + at, width) }
                        if relu { v.replace(with: 0, where: v .< 0) }
                        storeLanes(v, width, to: y + at)
                    }
                    put(top, 0)
                    put(bottom, 1)
                }
            }
        }
    }
}

/// The first `count` lanes of `v` stored at `p`, in vector stores of 8, 4, 2 and 1 lanes (one
/// store when `count` is the full width): the last tiles of a row of tiles (R(2+1)D's 14- and
/// 7-tile rows) stay in SIMD, without a call to memmove per row.
@inline(__always)
func storeLanes(_ v: SIMD16<Float>, _ count: Int, to p: UnsafeMutablePointer<Float>) {
    if count >= 8 {
        UnsafeMutableRawPointer(p).storeBytes(of: v.lowHalf, as: SIMD8<Float>.self)
        if count == 16 {
            UnsafeMutableRawPointer(p + 8).storeBytes(of: v.highHalf, as: SIMD8<Float>.self)
        } else {
            storeLanes(v.highHalf, count - 8, to: p + 8)
        }
    } else {
        storeLanes(v.lowHalf, count, to: p)
    }
}

@inline(__always)
func storeLanes(_ v: SIMD8<Float>, _ count: Int, to p: UnsafeMutablePointer<Float>) {
    if count == 8 {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
        return
    }
    var (q, n) = (p, count)
    var rest = v
    if n >= 4 {
        UnsafeMutableRawPointer(q).storeBytes(of: rest.lowHalf, as: SIMD4<Float>.self)
        rest.lowHalf = rest.highHalf
        (q, n) = (q + 4, n - 4)
    }
    if n >= 2 {
        UnsafeMutableRawPointer(q).storeBytes(of: rest.lowHalf.lowHalf, as: SIMD2<Float>.self)
        rest.lowHalf.lowHalf = rest.lowHalf.highHalf
        (q, n) = (q + 2, n - 2)
    }
    if n == 1 { q[0] = rest[0] }
}

/// `count` floats from `p` in the first lanes of a vector, zero in the rest. (Only a residual
/// is read this way, and no backbone here adds one after a 3x3 conv: no fast path.)
@inline(__always)
func loadLanes(_ p: UnsafePointer<Float>, _ count: Int) -> SIMD16<Float> {
    if count == 16 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
    var v = SIMD16<Float>()
    for l in 0..<count { v[l] = p[l] }
    return v
}
