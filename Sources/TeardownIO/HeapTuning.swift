import CSystemShims

/// How the process's allocator is set up for analysing large captures.
public enum HeapTuning {
    /// Makes glibc's malloc map every block of 128 KiB or more on its own (and unmap it when it is
    /// freed) for the rest of the process, so that peak memory does not depend on thread timing.
    ///
    /// By default glibc raises that threshold to the size of each mapped block freed, up to 32 MiB,
    /// and from then on serves smaller large blocks from the allocating thread's heap arena, which
    /// keeps their pages after they are freed. The analysing thread outgrows and frees a few
    /// buffers while it starts (up to 2.5 MiB), and whether another thread's first large buffer
    /// came before or after that decided whether about 1.4 MiB stayed resident: 3 of 16 runs of
    /// the same capture peaked that much higher (`--format jsonl`, 1 M packets).
    /// Setting the threshold turns the adjustment off. It costs nothing measurable here: the
    /// analysis allocates large blocks only while it starts and when a table grows (40 unmaps for
    /// 10 M packets).
    public static func fixLargeBlockThreshold() {
        _ = teardown_fix_mmap_threshold(128 * 1024)
    }
}
