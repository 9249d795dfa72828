import CFuzzer
import Foundation

// The libFuzzer harness for every parser: DECOUPLE_FUZZ_TARGET names the one to run; the
// arguments are libFuzzer's. Built only by `make fuzz` (scripts/fuzz.sh), with
// -sanitize=fuzzer,address, which links libFuzzer's driver.
_ = Harness.selected
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(
    LLVMFuzzerRunDriver(&argc, &argv) { bytes, size in
        Harness.selected(bytes.map { Data(bytes: $0, count: size) } ?? Data())
        return 0
    })
