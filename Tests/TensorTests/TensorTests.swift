import Dispatch
import Foundation
import Tensor
import Testing

@Suite("Tensor and RNG")
struct TensorTests {
    @Test("shape, count, strides, indexing, items and stacking")
    func basics() {
        var t = Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init))
        #expect(t.count == 24 && t.rank == 3)
        #expect(t.strides == [12, 4, 1])
        #expect(t[1, 2, 3] == 23)
        t[0, 1, 2] = -1
        #expect(t.data[6] == -1)
        #expect(t.item(1).shape == [3, 4])
        #expect(t.item(1).data.first == 12)
        #expect(Tensor.stack([t.item(0), t.item(1)]) == t)
        #expect(t.reshaped([6, 4]).shape == [6, 4])
        #expect(Tensor(shape: []).count == 1)
        #expect(Tensor(shape: [3, 0]).count == 0)
        t.withUnsafeMutableBufferPointer { $0[0] = 5 }
        #expect(t.data[0] == 5)
    }

    @Test("elementwise ops and reductions")
    func ops() {
        let a = Tensor(shape: [4], data: [1, -2, 3, -4])
        let b = Tensor(shape: [4], data: [1, 1, 1, 1])
        #expect((a + b).data == [2, -1, 4, -3])
        #expect((a - b).data == [0, -3, 2, -5])
        #expect((a * b * 2).data == [2, -4, 6, -8])
        #expect(a.relu().data == [1, 0, 3, 0])
        #expect(a.sum() == -2 && a.mean() == -0.5)
        #expect(a.maxAbs() == 4)
        #expect(a.maxAbsDifference(b) == 5)
        #expect(b.relativeError(to: a) == 1.25)
        #expect(Tensor(shape: [2]).relativeError(to: Tensor(shape: [2])) == 0)
        #expect(!Tensor(shape: [1], data: [.nan]).isFinite)
    }

    @Test("the same seed gives the same sequence; different seeds differ")
    func reproducible() {
        var a = SeededRandom(seed: 42)
        var b = SeededRandom(seed: 42)
        var c = SeededRandom(seed: 43)
        let xs = (0..<100).map { _ in a.next() }
        #expect(xs == (0..<100).map { _ in b.next() })
        #expect(xs != (0..<100).map { _ in c.next() })
        // xoshiro256** seeded by SplitMix64(0): the reference implementation's first output.
        var zero = SeededRandom(seed: 0)
        #expect(zero.next() == 0x99EC_5F36_CB75_F2B4)
    }

    @Test("normal draws have mean 0 and variance 1; uniform draws stay in [0, 1)")
    func distributions() {
        var rng = SeededRandom(seed: 1)
        let n = 200_000
        let xs = (0..<n).map { _ in Double(rng.nextNormal()) }
        let mean = xs.reduce(0, +) / Double(n)
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.02)
        let us = (0..<n).map { _ in rng.nextFloat() }
        #expect(us.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(abs(us.reduce(0, +) / Float(n) - 0.5) < 0.01)
        let t = Tensor.normal(shape: [1000], mean: 3, std: 0.5, using: &rng)
        #expect(abs(t.mean() - 3) < 0.1)
    }

    @Test("parallelRanges covers every index exactly once")
    func parallel() {
        for count in [0, 1, 2, 7, 100] {
            for threads in [1, 2, 3] {
                let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
                hits.initialize(repeating: 0, count: max(1, count))
                parallelRanges(count, threads: threads) { range in for i in range { hits[i] += 1 } }
                #expect((0..<count).allSatisfy { hits[$0] == 1 })
                hits.deallocate()
            }
        }
    }

    @Test("parallelRanges stays exact with back-to-back, nested and concurrent regions")
    func parallelStress() {
        // Thousands of short regions in a row (the pool's helpers arrive late or early),
        // regions nested inside a region (the pool is busy: Dispatch runs them) and four
        // threads starting regions at once; every index is hit exactly once each time.
        let count = 64
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: 4 * count)
        let wrongRounds = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        wrongRounds.initialize(repeating: 0, count: 4)
        defer {
            hits.deallocate()
            wrongRounds.deallocate()
        }
        let box = UncheckedSendable((hits, wrongRounds))
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            let mine = box.value.0 + caller * count
            for round in 0..<2000 {
                mine.initialize(repeating: 0, count: count)
                parallelRanges(count, threads: 2 + round % 3) { range in
                    if round % 7 == 0 {
                        parallelRanges(range.count, threads: 2) { inner in
                            for i in inner { mine[range.lowerBound + i] += 1 }
                        }
                    } else {
                        for i in range { mine[i] += 1 }
                    }
                }
                if !(0..<count).allSatisfy({ mine[$0] == 1 }) { box.value.1[caller] += 1 }
            }
        }
        #expect((0..<4).map { wrongRounds[$0] } == [0, 0, 0, 0])
        #expect((0..<(4 * count)).allSatisfy { hits[$0] == 1 })
    }

    @Test("parallelRanges stays exact when the pool's helpers have gone to sleep between regions")
    func parallelAfterSleep() {
        // Longer than the helpers poll (2 ms), so each region has to wake them.
        for _ in 0..<5 {
            usleep(10_000)
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: 16)
            hits.initialize(repeating: 0, count: 16)
            parallelRanges(16, threads: 2) { range in for i in range { hits[i] += 1 } }
            #expect((0..<16).allSatisfy { hits[$0] == 1 })
            hits.deallocate()
        }
    }
}
