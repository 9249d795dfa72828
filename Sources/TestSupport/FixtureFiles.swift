import Foundation
import VideoData

/// Readers for committed fixtures (PNG images, `.npy` arrays, manifests with sha256), kept
/// independent of the code under test: PNGs are decoded by the ffmpeg CLI, hashes come from
/// coreutils' `sha256sum`.
public enum FixtureFiles {
    /// The pixels of an 8-bit RGB PNG, decoded by the ffmpeg CLI (lossless: exactly the stored bytes).
    public static func readPNG(_ path: String) throws -> RGBImage {
        let size = try runChecked(
            "ffprobe",
            [
                "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", path,
            ]
        ).text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
        guard size.count == 2 else { throw TestFailure("ffprobe gave no size for \(path)") }
        let raw = try runChecked("ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdout
        guard raw.count == size[0] * size[1] * 3 else {
            throw TestFailure("\(path): expected \(size[0] * size[1] * 3) bytes of rgb24, got \(raw.count)")
        }
        return RGBImage(width: size[0], height: size[1], pixels: [UInt8](raw))
    }

    /// A little-endian float32 `.npy` file: its shape and values.
    public static func readFloat32NPY(_ path: String) throws -> (shape: [Int], values: [Float]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard let header = NPY.parseHeader(bytes), header.dtype == "<f4" else {
            throw TestFailure("\(path) is not a float32 .npy file")
        }
        let n = header.shape.reduce(1, *)
        guard bytes.count == header.dataOffset + 4 * n else { throw TestFailure("\(path) has the wrong data size") }
        let values = bytes[header.dataOffset...].withUnsafeBytes { raw in
            (0..<n).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) }
        }
        return (header.shape, values)
    }

    /// SHA-256 of a file as lowercase hex, from `sha256sum`.
    public static func sha256(_ path: String) throws -> String {
        let out = try runChecked("sha256sum", [path]).text
        return String(out.prefix(64))
    }

    /// A fixture directory's `MANIFEST.json` as a dictionary, after checking every file listed
    /// under `"sha256"` against its hash (a changed fixture fails loudly, naming the file).
    public static func verifiedManifest(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/MANIFEST.json"))
        guard let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let hashes = manifest["sha256"] as? [String: String]
        else { throw TestFailure("\(directory)/MANIFEST.json has no sha256 table") }
        for (name, expected) in hashes {
            let actual = try sha256(directory + "/" + name)
            guard actual == expected else {
                throw TestFailure(
                    "\(directory)/\(name) has sha256 \(actual), MANIFEST.json says \(expected); regenerate with the script named in the manifest"
                )
            }
        }
        return manifest
    }
}
