// swift-tools-version:6.0
import PackageDescription

// Targets follow ARCHITECTURE.md: three C system libraries, each imported by exactly one
// Swift target; pure cores that do no I/O; adapters (MediaIO, the curses terminal); the CLI.
let package = Package(
    name: "Decouple",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "decouple", targets: ["CLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries (module maps + shim headers for the macros Swift cannot import).
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas"),
        .systemLibrary(name: "CCurses", path: "Sources/CCurses"),

        // Pure value types over frames, motion vectors and keyframes.
        .target(name: "VideoData"),
        // The only FFmpeg user.
        .target(name: "MediaIO", dependencies: ["CFFmpeg", "VideoData"]),

        .executableTarget(
            name: "CLI",
            dependencies: [
                "MediaIO", "VideoData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Helpers for test targets only: ffmpeg-made videos, FFmpeg reference tools, paths.
        .target(name: "TestSupport", dependencies: ["VideoData"]),

        .testTarget(name: "VideoDataTests", dependencies: ["VideoData"]),
        .testTarget(name: "MediaIOTests", dependencies: ["MediaIO", "VideoData", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["CLI", "VideoData", "TestSupport"]),
        // Link smoke test for the C libraries not yet used by a Swift target.
        .testTarget(name: "SystemLibraryTests", dependencies: ["CBLAS", "CCurses"]),
    ]
)
