import Tensor

/// The pass that follows every conv GEMM in the backbones, fused so the output is touched once:
/// `y[c, j] = act(y[c, j] + bias[c] + residual[c, j])` for channels `rows` and columns
/// `columns` of rows of length `rowLength` (`act` is ReLU or identity). A BN folded into the
/// conv provides `bias`; a residual block provides `residual` (same layout as `y`).
///
/// Single-threaded: the conv calls it per tile, from the thread that computed the tile.
public func applyEpilogue(
    _ y: UnsafeMutablePointer<Float>, rowLength: Int, rows: Range<Int>, columns: Range<Int>,
    bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, relu: Bool
) {
    if bias == nil && residual == nil && !relu { return }
    let width = columns.count
    for c in rows {
        let row = y + c * rowLength + columns.lowerBound
        let b = bias?[c] ?? 0
        if let residual {
            let r = residual + c * rowLength + columns.lowerBound
            if relu {
                for j in 0..<width { row[j] = max(row[j] + b + r[j], 0) }
            } else {
                for j in 0..<width { row[j] = row[j] + b + r[j] }
            }
        } else if relu {
            for j in 0..<width { row[j] = max(row[j] + b, 0) }
        } else {
            for j in 0..<width { row[j] += b }
        }
    }
}

/// The same pass out of place, for tiles computed into a buffer: `y[c, columns] =
/// act(source[c - rows.lowerBound][0..<columns.count] + bias[c] + residual[c, columns])`,
/// where the source rows are `sourceRowLength` apart.
public func applyEpilogue(
    from source: UnsafePointer<Float>, sourceRowLength: Int, into y: UnsafeMutablePointer<Float>, rowLength: Int,
    rows: Range<Int>, columns: Range<Int>, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, relu: Bool
) {
    let width = columns.count
    for (i, c) in rows.enumerated() {
        let src = source + i * sourceRowLength
        let row = y + c * rowLength + columns.lowerBound
        let b = bias?[c] ?? 0
        if let residual {
            let r = residual + c * rowLength + columns.lowerBound
            if relu {
                for j in 0..<width { row[j] = max(src[j] + b + r[j], 0) }
            } else {
                for j in 0..<width { row[j] = src[j] + b + r[j] }
            }
        } else if relu {
            for j in 0..<width { row[j] = max(src[j] + b, 0) }
        } else {
            for j in 0..<width { row[j] = src[j] + b }
        }
    }
}
