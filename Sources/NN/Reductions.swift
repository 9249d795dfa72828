/// Sums that the training layers take over long runs of floats (batch-norm statistics and
/// their backward pass, bias gradients). Sixteen float lanes accumulate a chunk of at most
/// 1024 values (64 per lane), then the chunk total joins a double accumulator: vector speed,
/// and an error that does not grow with the run length (a plain float loop over a 50,176-long
/// map would lose about 3 digits).

/// Σ x over `count` values.
@inline(__always)
public func runSum(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var total: Double = 0
    var i = 0
    while i < count {
        let end = min(count, i + 1024)
        var acc = SIMD16<Float>()
        var j = i
        while j + 16 <= end {
            acc += UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self)
            j += 16
        }
        var s = Double(acc.sum())
        while j < end {
            s += Double(x[j])
            j += 1
        }
        total += s
        i = end
    }
    return total
}

/// (Σ x, Σ x²) over `count` values.
@inline(__always)
public func runSumAndSquares(_ x: UnsafePointer<Float>, count: Int) -> (Double, Double) {
    var total: Double = 0
    var squares: Double = 0
    var i = 0
    while i < count {
        let end = min(count, i + 1024)
        var acc = SIMD16<Float>()
        var acc2 = SIMD16<Float>()
        var j = i
        while j + 16 <= end {
            let v = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self)
            acc += v
            acc2 += v * v
            j += 16
        }
        var s = Double(acc.sum())
        var s2 = Double(acc2.sum())
        while j < end {
            s += Double(x[j])
            s2 += Double(x[j]) * Double(x[j])
            j += 1
        }
        total += s
        squares += s2
        i = end
    }
    return (total, squares)
}

/// Σ a·b over `count` values.
@inline(__always)
public func runDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
    var total: Double = 0
    var i = 0
    while i < count {
        let end = min(count, i + 1024)
        var acc = SIMD16<Float>()
        var j = i
        while j + 16 <= end {
            acc +=
                UnsafeRawPointer(a + j).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(b + j).loadUnaligned(as: SIMD16<Float>.self)
            j += 16
        }
        var s = Double(acc.sum())
        while j < end {
            s += Double(a[j]) * Double(b[j])
            j += 1
        }
        total += s
        i = end
    }
    return total
}
