#ifndef TEARDOWN_SYSTEM_SHIMS_H
#define TEARDOWN_SYSTEM_SHIMS_H

/// Pins the calling thread to one CPU (GNU-only API, invisible to Swift's Glibc module).
/// Returns 0 on success, an errno value otherwise.
int teardown_pin_thread_to_cpu(int cpu);

/// Number of CPUs this process may run on.
int teardown_available_cpus(void);

/// Pins the calling thread to the `index`-th CPU (from 0) of those the process may run on (the
/// main thread's affinity). Returns 0 on success, -1 when there are not that many, an errno value
/// otherwise.
int teardown_pin_thread_to_process_cpu(int index);

/// Lets the calling thread run on every CPU the process may run on again. Returns 0 on success,
/// an errno value otherwise.
int teardown_unpin_thread(void);

/// Makes malloc map every block of `bytes` or more on its own from now on, turning off glibc's
/// dynamic threshold (mallopt, invisible to Swift's Glibc module). Returns 1 on success, 0 on
/// failure or where the C library has no such setting.
int teardown_fix_mmap_threshold(int bytes);

/// Moves the calling thread into a new network namespace (unshare(CLONE_NEWNET), GNU-only).
/// Returns 0 on success, an errno value otherwise.
int teardown_unshare_network(void);

/// Moves the calling thread into the network namespace `fd` refers to (setns). Returns 0 or an errno value.
int teardown_set_network_namespace(int fd);

/// The process environment (`environ`), for spawning children with it.
char *const *teardown_environment(void);

/// The width in columns of the terminal `fd` is (TIOCGWINSZ, a variadic ioctl Swift cannot call);
/// 0 when it is no terminal.
int teardown_terminal_columns(int fd);

/// accept4(fd, NULL, NULL, SOCK_CLOEXEC) (GNU-only, invisible to Swift's Glibc module): the
/// accepted socket is closed on exec. Returns the descriptor, or -1 with errno set.
int teardown_accept_cloexec(int fd);

#endif
