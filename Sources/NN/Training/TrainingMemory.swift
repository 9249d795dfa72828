/// Process-wide memory settings for training.
public enum TrainingMemory {
    /// Keeps freed memory in the heap instead of returning it to the system. A training step
    /// allocates and frees the same few hundred megabytes of activations every time; glibc
    /// maps blocks over 32 MB freshly (and unmaps them on free), so each step would page-fault
    /// and zero all of them again. With the mmap threshold and the trim threshold raised, the
    /// second step reuses the first step's pages. Call once, before training.
    public static func keepFreedMemory() {
        #if os(Linux)
            // <malloc.h>'s M_TRIM_THRESHOLD (-1) and M_MMAP_THRESHOLD (-3); Glibc's module map
            // does not export malloc.h. The calls only tune the allocator: failure changes nothing.
            _ = glibcMallopt(-3, 1 << 30)
            _ = glibcMallopt(-1, Int32.max)
        #endif
    }
}

#if os(Linux)
    @_silgen_name("mallopt")
    private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
