/// A dense float32 tensor: a shape and contiguous row-major (C-order) storage.
///
/// Value semantics (copy-on-write through the backing array). Video tensors use the NCTHW
/// layout throughout the package: `[batch, channels, frames, height, width]`.
public struct Tensor: Sendable, Equatable {
    /// Dimensions, outermost first; `[]` is a scalar holding one value.
    public private(set) var shape: [Int]
    /// The values, row-major; `data.count == shape.product`, and writes cannot change the count.
    public var data: [Float] {
        get { storage }
        set {
            precondition(newValue.count == storage.count, "Tensor.data cannot change its count")
            storage = newValue
        }
        // In place, so `t.data[i] = x` does not copy the array.
        _modify {
            let count = storage.count
            yield &storage
            precondition(storage.count == count, "Tensor.data cannot change its count")
        }
    }
    private var storage: [Float]

    /// A tensor of `shape` holding `data` (row-major).
    /// - Precondition: `data.count` equals the product of `shape`, and no dimension is negative.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(data.count == shape.product, "shape \(shape) needs \(shape.product) values, got \(data.count)")
        self.shape = shape
        self.storage = data
    }

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.product))
    }

    /// A tensor of `shape` whose storage `fill` writes (every element must be written).
    public init(shape: [Int], uninitialized fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let count = shape.product
        let values = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try fill(buffer)
            initialized = count
        }
        self.init(shape: shape, data: values)
    }

    /// A tensor of `shape` with values drawn from N(mean, std²) by `rng`.
    public static func normal(shape: [Int], mean: Float = 0, std: Float = 1, using rng: inout SeededRandom) -> Tensor {
        Tensor(shape: shape) { buffer in
            for i in buffer.indices { buffer[i] = mean + std * rng.nextNormal() }
        }
    }

    /// A tensor of `shape` with values drawn uniformly from [low, high) by `rng`.
    public static func uniform(shape: [Int], low: Float = 0, high: Float = 1, using rng: inout SeededRandom) -> Tensor {
        Tensor(shape: shape) { buffer in
            for i in buffer.indices { buffer[i] = low + (high - low) * rng.nextFloat() }
        }
    }

    /// Number of elements.
    public var count: Int { data.count }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The same values under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.product == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: newShape, data: data)
    }

    /// Reads the storage.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeBufferPointer(body)
    }

    /// Writes the storage in place (the count cannot change).
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R)
        rethrows -> R
    {
        try storage.withUnsafeMutableBufferPointer { buffer in try body(buffer) }
    }

    /// Element at a full multi-index (slow; for tests and small tensors).
    public subscript(_ index: Int...) -> Float {
        get { data[flatIndex(index)] }
        set { data[flatIndex(index)] = newValue }
    }

    /// Row-major strides of `shape`.
    public var strides: [Int] { shape.rowMajorStrides }

    func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, (n, d)) in zip(index, shape).enumerated() {
            precondition(n >= 0 && n < d, "index \(index) out of bounds for shape \(shape) (dimension \(i))")
            flat = flat * d + n
        }
        return flat
    }

    /// Item `i` along the first dimension, e.g. clip `i` of an `[N, C, T, H, W]` batch as
    /// `[C, T, H, W]`.
    public func item(_ i: Int) -> Tensor {
        precondition(rank >= 1 && i >= 0 && i < shape[0], "item \(i) of shape \(shape)")
        let inner = Array(shape.dropFirst())
        let n = inner.product
        return Tensor(shape: inner, data: Array(data[(i * n)..<((i + 1) * n)]))
    }

    /// Stacks equally shaped tensors along a new first dimension.
    public static func stack(_ items: [Tensor]) -> Tensor {
        precondition(!items.isEmpty, "stack of nothing")
        let inner = items[0].shape
        precondition(items.allSatisfy { $0.shape == inner }, "stack of different shapes")
        var values: [Float] = []
        values.reserveCapacity(items.count * inner.product)
        for t in items { values.append(contentsOf: t.data) }
        return Tensor(shape: [items.count] + inner, data: values)
    }
}

extension Array where Element == Int {
    /// Product of the elements (1 for an empty shape).
    public var product: Int { reduce(1, *) }

    /// Row-major strides for this shape.
    public var rowMajorStrides: [Int] {
        var strides = [Int](repeating: 1, count: count)
        var s = 1
        for i in indices.reversed() {
            strides[i] = s
            s *= self[i]
        }
        return strides
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = data.prefix(6).map { "\($0)" }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 6 ? ", …" : "")]"
    }
}

extension Optional where Wrapped == Tensor {
    /// The storage of the tensor, or nil, for the duration of `body` (an optional bias,
    /// residual or mask handed to C-style loops).
    public func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let t): return t.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
