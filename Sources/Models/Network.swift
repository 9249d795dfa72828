import NN
import Tensor

/// Receives a stage's output during a forward pass: its name, the values of one clip and the
/// clip's shape (`[C, T, H, W]`, or `[C]` for the output). The pointer is valid only during
/// the call.
typealias StageCapture = (String, UnsafePointer<Float>, [Int]) -> Void

/// A backbone ready for inference, running one clip at a time through a workspace.
protocol Network: Sendable {
    /// Channels of the pooled output.
    var outputChannels: Int { get }
    /// The names `forward` passes to its capture, in order.
    var stageNames: [String] { get }
    /// Activation slots the forward pass uses.
    var slotCount: Int { get }
    /// Calls `map` for every activation map (channels, size) and `conv` for every conv with
    /// its checkpoint name and input size, so a workspace can be sized without running anything.
    func walk(_ input: Dim3, map: (Int, Dim3) -> Void, conv: (String, Conv3d, Dim3) -> Void)
    /// One clip `x [3, T, H, W]` → `output [outputChannels]`.
    func forward(
        clip x: UnsafePointer<Float>, size: Dim3, workspace: Workspace, threads: Int,
        output: UnsafeMutablePointer<Float>, capture: StageCapture?)
}
