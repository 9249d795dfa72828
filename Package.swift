// swift-tools-version:6.0
import PackageDescription

// Targets follow ARCHITECTURE.md: three C system libraries, each imported by exactly one
// Swift target; pure cores that do no I/O; adapters (MediaIO, the curses terminal); the CLI.
let package = Package(
    name: "Decouple",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "decouple", targets: ["CLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // C libraries (module maps + shim headers for the macros Swift cannot import).
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas"),
        .systemLibrary(name: "CCurses", path: "Sources/CCurses"),
        .systemLibrary(name: "CChafa", path: "Sources/CChafa", pkgConfig: "chafa"),

        // Helpers every other target may use: the atomic write, console output, where the
        // shipped resources are, cosine, JSON strings (Foundation only).
        .target(name: "Common"),
        // Pure value types over frames, motion vectors and keyframes; clip sampling and
        // preprocessing; the ClipSource protocol.
        .target(name: "VideoData"),
        // Float32 tensors, im2col, GEMM through OpenBLAS (the only CBLAS user).
        .target(name: "Tensor", dependencies: ["CBLAS"]),
        // Layers with paired forward/backward.
        .target(name: "NN", dependencies: ["Tensor", "ConvKernels"]),
        // Direct convolutions in C: AVX-512 chosen at run time (NN/DirectConv.swift). Built with
        // -O2 in debug builds too: unoptimised, the kernels' register blocks spill to the stack
        // and the tests' training steps would crawl.
        .target(name: "ConvKernels", cSettings: [.unsafeFlags(["-O2"])]),
        // safetensors reader/writer and PyTorch checkpoint import.
        .target(name: "SafeTensors", dependencies: ["Common"]),
        // R(2+1)D-26, R3D-26, C3D, checkpoint key table, strict loader.
        .target(name: "Models", dependencies: ["Common", "NN", "Tensor", "SafeTensors"]),
        // Clips -> preprocessed tensors -> backbone -> embeddings (frames come through ClipSource).
        .target(
            name: "Embed", dependencies: ["Common", "Models", "NN", "Tensor", "VideoData", "SafeTensors", "Index"]),
        // The embedding store (npy + jsonl + manifest), exact cosine top-k, retrieval metrics.
        .target(name: "Index", dependencies: ["Common", "Tensor", "VideoData", "IndexKernels"]),
        // Its memory-bound loops in C: AVX2+FMA chosen at run time (Swift targets baseline x86-64).
        .target(name: "IndexKernels"),
        // CMD pretraining: pretext data from the compressed domain, the CMD model, the loop.
        .target(
            name: "Pretrain", dependencies: ["Common", "Models", "NN", "Tensor", "VideoData", "SafeTensors", "Index"]),
        // The scene-bias benchmark: synthetic motion classes over real photographs (pure).
        .target(name: "Synth", dependencies: ["Common", "VideoData"]),
        // The TUI: pure state/reduce/render, the curses adapter (the only CCurses user), the chafa
        // encoder (ChafaEncoder.swift, the only CChafa user) and the
        // model behind the e key (Embed, with clips from a source the CLI opens).
        .target(name: "Explorer", dependencies: ["CCurses", "CChafa", "Common", "Embed", "Models", "VideoData"]),
        // The only FFmpeg user.
        .target(name: "MediaIO", dependencies: ["CFFmpeg", "Common", "VideoData"]),

        // `decouple bench …`: every benchmark next to its peer, with the helpers they share
        // (Stats, PythonPeer, Machine).
        .target(
            name: "Bench",
            dependencies: [
                "Common", "MediaIO", "VideoData", "Tensor", "NN", "SafeTensors", "Models", "Embed", "Explorer", "Index",
                "Pretrain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .executableTarget(
            name: "CLI",
            dependencies: [
                "Bench", "Common", "MediaIO", "VideoData", "Tensor", "NN", "SafeTensors", "Models", "Embed", "Explorer",
                "Synth", "Pretrain", "Index",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Helpers for test targets only: ffmpeg-made videos, FFmpeg reference tools, paths.
        .target(name: "TestSupport", dependencies: ["Common", "VideoData"]),
        // The "parse these bytes" function of each fuzz harness (`make fuzz`, docs/fuzzing.md);
        // the corpus replay test calls the same functions.
        .target(
            name: "FuzzTargets",
            dependencies: ["Embed", "Explorer", "Index", "MediaIO", "Models", "SafeTensors", "VideoData"]),

        .testTarget(name: "BenchTests", dependencies: ["Bench", "TestSupport"]),
        .testTarget(name: "CommonTests", dependencies: ["Common", "TestSupport"]),
        .testTarget(name: "VideoDataTests", dependencies: ["VideoData", "TestSupport"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor", "TestSupport"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "NN", "Tensor", "SafeTensors", "TestSupport"]),
        .testTarget(
            name: "EmbedTests",
            dependencies: ["Common", "Embed", "Models", "SafeTensors", "Tensor", "VideoData", "MediaIO", "TestSupport"]),
        .testTarget(
            name: "PretrainTests",
            dependencies: [
                "Pretrain", "Common", "Models", "Embed", "SafeTensors", "Tensor", "VideoData", "MediaIO", "TestSupport",
            ]),
        .testTarget(name: "IndexTests", dependencies: ["Index", "Tensor", "VideoData", "CLI", "TestSupport"]),
        .testTarget(name: "SynthTests", dependencies: ["Synth", "VideoData", "MediaIO", "TestSupport"]),
        .testTarget(
            name: "ExplorerTests",
            dependencies: ["Explorer", "Embed", "Models", "VideoData", "MediaIO", "TestSupport"],
            exclude: ["Goldens"]),
        .testTarget(name: "MediaIOTests", dependencies: ["Common", "MediaIO", "VideoData", "TestSupport"]),
        .testTarget(
            name: "FuzzTargetsTests",
            dependencies: ["FuzzTargets", "Index", "Models", "SafeTensors", "VideoData", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["CLI", "VideoData", "TestSupport"]),
        // Link smoke test for the C libraries.
        .testTarget(name: "SystemLibraryTests", dependencies: ["CBLAS", "CCurses"]),
    ]
)

// `make fuzz` only (scripts/fuzz.sh sets DECOUPLE_FUZZ=1 and builds in .build/fuzz with
// -sanitize=fuzzer,address): the libFuzzer harness and the declaration of libFuzzer's driver.
// Without libFuzzer it cannot link, so the normal build does not see it.
if Context.environment["DECOUPLE_FUZZ"] == "1" {
    package.targets += [
        .systemLibrary(name: "CFuzzer", path: "Fuzz/CFuzzer"),
        .executableTarget(name: "DecoupleFuzz", dependencies: ["CFuzzer", "FuzzTargets"], path: "Fuzz/Harness"),
    ]
}
