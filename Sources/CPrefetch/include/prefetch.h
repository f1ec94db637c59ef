#ifndef TEARDOWN_PREFETCH_H
#define TEARDOWN_PREFETCH_H

#include <time.h>

/// Hints the CPU to fetch the cache line at `address` (a no-op for correctness). Header-only: the
/// analysis library links nothing for it.
static inline void teardown_prefetch(const void *address) { __builtin_prefetch(address); }

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
