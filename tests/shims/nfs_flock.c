/* LD_PRELOAD shim for tests/nfs_locks.sh: flock() with the rule of Linux's
 * NFS client, which emulates flock as a byte-range lock of the whole file on
 * the server, so that an exclusive lock needs a descriptor open for writing
 * (flock(2), "NFS details"): LOCK_EX on a read-only descriptor is EBADF.
 * NFS_FLOCK_ERRNO=N instead fails every flock with errno N (a file system
 * without working locks). It lives in tests/shims/ to stay out of the test
 * binary, which links every tests/ *.c. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>

int flock(int fd, int op) {
    static int (*real)(int, int);
    const char *fail = getenv("NFS_FLOCK_ERRNO");
    if (fail && *fail) {
        errno = atoi(fail);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl == -1) return -1;
    if ((op & LOCK_EX) && (fl & O_ACCMODE) == O_RDONLY) {
        errno = EBADF;
        return -1;
    }
    if (!real) real = (int (*)(int, int))dlsym(RTLD_NEXT, "flock");
    return real(fd, op);
}
