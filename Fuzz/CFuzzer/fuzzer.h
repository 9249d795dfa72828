// libFuzzer's driver entry (in libclang_rt.fuzzer, linked by -sanitize=fuzzer): the harness
// has its own main (SwiftPM names an executable's entry point itself) and hands over to it.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
