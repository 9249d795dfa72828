import Foundation

/// A seeded, reproducible random number generator: xoshiro256** (Blackman and Vigna), with its
/// state filled from the seed by SplitMix64, as the authors recommend. The same seed gives the
/// same sequence on every platform and build, so random initialisation and test inputs are
/// well-defined.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    /// The second value of the last Box-Muller pair, returned by the next `nextNormal()`.
    private var spareNormal: Float?

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1), 24 random bits.
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * Float(sign: .plus, exponent: -24, significand: 1)
    }

    /// Uniform in [0, 1), 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * Double(sign: .plus, exponent: -53, significand: 1)
    }

    /// Standard normal (Box-Muller in double precision).
    public mutating func nextNormal() -> Float {
        if let z = spareNormal {
            spareNormal = nil
            return z
        }
        // 1 - u keeps the logarithm's argument in (0, 1].
        let u1 = 1 - nextDouble()
        let u2 = nextDouble()
        let r = (-2 * log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        spareNormal = Float(r * sin(angle))
        return Float(r * cos(angle))
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
