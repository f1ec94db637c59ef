#ifndef TEARDOWN_SYSTEM_SHIMS_H
#define TEARDOWN_SYSTEM_SHIMS_H

/// Pins the calling thread to one CPU (GNU-only API, invisible to Swift's Glibc module).
/// Returns 0 on success, an errno value otherwise.
int teardown_pin_thread_to_cpu(int cpu);

/// Number of CPUs this process may run on.
int teardown_available_cpus(void);



/// The process environment (`environ`), for spawning children with it.
char *const *teardown_environment(void);

/// Hints the CPU to fetch the cache line at `address` (a no-op for correctness).
static inline void teardown_prefetch(const void *address) { __builtin_prefetch(address); }

#endif
