import Foundation

/// The learning rate per optimiser step: linear warm-up from `warmupStart` to `base` over
/// `warmupSteps`, then cosine annealing from `base` to `final` over the remaining steps
/// (CMD: base 5e-4·B, warm-up from 5e-6·B over 5 epochs, cosine to 0; docs/method.md §6).
public struct WarmupCosineSchedule: Sendable, Codable, Equatable {
    public var base: Double
    public var warmupStart: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    public var final: Double

    public init(base: Double, warmupStart: Double = 0, warmupSteps: Int, totalSteps: Int, final: Double = 0) {
        precondition(warmupSteps >= 0 && totalSteps >= warmupSteps, "schedule needs 0 <= warm-up steps <= total steps")
        self.base = base
        self.warmupStart = warmupStart
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.final = final
    }

    /// The rate for step `step` (0-based; steps past the end keep the final rate).
    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps {
            return warmupStart + (base - warmupStart) * Double(step) / Double(warmupSteps)
        }
        let span = totalSteps - warmupSteps
        if span <= 0 { return base }
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        return final + (base - final) * 0.5 * (1 + cos(Double.pi * progress))
    }
}
