import Tensor

/// The pass that follows every conv GEMM in the backbones, fused so the output is touched once:
/// `y[c, n] = act(y[c, n] + bias[c] + residual[c, n])` for channels `0..<channels` and
/// columns `columns` of rows of length `rowLength` (`act` is ReLU or identity). A BN folded
/// into the conv provides `bias`; a residual block provides `residual` (same layout as `y`).
///
/// Channels are split over `threads` workers.
public func applyEpilogue(
    _ y: UnsafeMutablePointer<Float>, channels: Int, rowLength: Int, columns: Range<Int>,
    bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?, relu: Bool, threads: Int = 1
) {
    if bias == nil && residual == nil && !relu { return }
    parallelRanges(channels, threads: columns.count * channels >= 32_768 ? threads : 1) { range in
        for c in range {
            let row = y + c * rowLength
            let b = bias?[c] ?? 0
            if let residual {
                let r = residual + c * rowLength
                if relu {
                    for n in columns { row[n] = max(row[n] + b + r[n], 0) }
                } else {
                    for n in columns { row[n] = row[n] + b + r[n] }
                }
            } else if relu {
                for n in columns { row[n] = max(row[n] + b, 0) }
            } else {
                for n in columns { row[n] += b }
            }
        }
    }
}
