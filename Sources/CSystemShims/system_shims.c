#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "system_shims.h"

int teardown_pin_thread_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int teardown_available_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return CPU_COUNT(&set);
}

int teardown_pin_thread_to_process_cpu(int index) {
    cpu_set_t process;
    CPU_ZERO(&process);
    if (sched_getaffinity(getpid(), sizeof process, &process) != 0) return errno;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &process)) continue;
        if (index-- == 0) return teardown_pin_thread_to_cpu(cpu);
    }
    return -1;
}

int teardown_unpin_thread(void) {
    cpu_set_t process;
    CPU_ZERO(&process);
    if (sched_getaffinity(getpid(), sizeof process, &process) != 0) return errno;
    return pthread_setaffinity_np(pthread_self(), sizeof process, &process);
}

int teardown_fix_mmap_threshold(int bytes) {
#ifdef __GLIBC__
    return mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
    return 0;
#endif
}

int teardown_unshare_network(void) {
    return unshare(CLONE_NEWNET) == 0 ? 0 : errno;
}

int teardown_set_network_namespace(int fd) {
    return setns(fd, CLONE_NEWNET) == 0 ? 0 : errno;
}

extern char **environ;

char *const *teardown_environment(void) { return environ; }

int teardown_terminal_columns(int fd) {
    struct winsize size;
    return ioctl(fd, TIOCGWINSZ, &size) == 0 ? size.ws_col : 0;
}

int teardown_accept_cloexec(int fd) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}
