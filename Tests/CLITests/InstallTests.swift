import Foundation
import TestSupport
import Testing

@Suite("make install: the binary finds the shipped weights and samples from anywhere")
struct InstallTests {
    @Test("installed into a temporary prefix, embed and explore --batch use the shipped weights from another directory")
    func installedBinary() throws {
        let prefix = Paths.temporaryDirectory("install-prefix")
        let install = try run(
            "make", ["-s", "-C", Paths.root, "install-files", "PREFIX=" + prefix, "BIN=" + Paths.decouple])
        #expect(install.status == 0, "\(install.stderr)")
        let binary = prefix + "/bin/decouple"
        #expect(FileManager.default.fileExists(atPath: prefix + "/share/decouple/weights/default.json"))

        // A working directory with nothing in it, and no DECOUPLE_HOME: only the prefix can help.
        let elsewhere = Paths.temporaryDirectory("install-elsewhere")
        let video = Paths.asset("videos/tears_320x240.mp4")
        let environment = ["DECOUPLE_HOME": ""]
        let embed = try run(binary, ["embed", video, "--clips", "1"], environment: environment, directory: elsewhere)
        #expect(embed.status == 0, "\(embed.stderr)")
        let row = try JSONSerialization.jsonObject(with: embed.stdout) as? [String: Any]
        let weights = row?["weights"] as? [String: Any]
        #expect((weights?["file"] as? String) == prefix + "/share/decouple/weights/r2p1d-compact.safetensors")
        #expect(((row?["embedding"] as? [Double])?.count ?? 0) > 0)

        // No video argument: the installed samples; `e` embeds with the shipped weights.
        let explore = try run(
            binary, ["explore", "--batch", "--size", "120x40", "--keys", "e<wait>"], environment: environment,
            directory: elsewhere)
        #expect(explore.status == 0, "\(explore.stderr)")
        #expect(explore.text.contains("bigbuckbunny_720p.mp4"))
        #expect(explore.text.contains("r2p1d-compact.safetensors"), "\(explore.text)")
        #expect(!explore.text.contains("No weights"))

        // DECOUPLE_HOME names a resources folder when the binary is somewhere else.
        let copy = elsewhere + "/decouple"
        try FileManager.default.copyItem(atPath: binary, toPath: copy)
        let moved = try run(
            copy, ["explore", "--batch", "--size", "120x40"],
            environment: ["DECOUPLE_HOME": prefix + "/share/decouple"], directory: elsewhere)
        #expect(moved.status == 0 && moved.text.contains("tears_320x240.mp4"), "\(moved.stderr)")
        let lost = try run(
            copy, ["explore", "--batch", "--size", "120x40"], environment: environment, directory: elsewhere)
        #expect(lost.status == 1 && lost.stderr.contains("DECOUPLE_HOME"), "\(lost.stderr)")
    }
}
