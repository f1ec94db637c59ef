#ifndef TEARDOWN_PREFETCH_H
#define TEARDOWN_PREFETCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

/// Hints the CPU to fetch the cache line at `address` (a no-op for correctness). Header-only: the
/// analysis library links nothing for it.
static inline void teardown_prefetch(const void *address) { __builtin_prefetch(address); }

/// Copies `bytes` (a multiple of 8; both addresses 8-byte aligned) from `source` to `destination`
/// past the caches where the CPU can (x86 non-temporal stores): for data another core reads next,
/// so that writing it does not first take the lines from that core's cache. Call
/// `teardown_store_fence` before publishing what was copied.
static inline void teardown_stream_copy(void *destination, const void *source, size_t bytes) {
#if defined(__x86_64__)
    long long *to = (long long *)destination;
    const long long *from = (const long long *)source;
    for (size_t word = 0; word < bytes / 8; word++) _mm_stream_si64(to + word, from[word]);
#else
    memcpy(destination, source, bytes);
#endif
}

/// Orders the stores of `teardown_stream_copy` before the stores that follow (x86 `sfence`).
static inline void teardown_store_fence(void) {
#if defined(__x86_64__)
    _mm_sfence();
#endif
}

/// Tells the CPU that this thread is spinning on a value another core will change (x86 `pause`,
/// Arm `yield`): the loop then costs the other thread on the core less.
static inline void teardown_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// Sleeps `microseconds`: for a wait that spinning did not end, when the cores may be shared
/// with the thread waited for (a virtual machine's vCPUs on one physical core).
static inline void teardown_sleep_microseconds(long microseconds) {
    struct timespec interval = { 0, microseconds * 1000 };
    nanosleep(&interval, 0);
}

#endif
