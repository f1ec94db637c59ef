#ifndef TEARDOWN_PREFETCH_H
#define TEARDOWN_PREFETCH_H

/// Hints the CPU to fetch the cache line at `address` (a no-op for correctness). Header-only: the
/// analysis library links nothing for it.
static inline void teardown_prefetch(const void *address) { __builtin_prefetch(address); }

#endif
