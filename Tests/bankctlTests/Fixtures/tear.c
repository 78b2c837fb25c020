// A fault injector for the built bankctl (Hardening2Tests.aTornWriteNeverLocksDataAway): loaded
// with LD_PRELOAD, it lets the process's first TEAR_AT - 1 pwrite calls through, then writes only
// the first half of the next one and kills the process with SIGKILL, as a crash in the middle of
// a write (or a short write followed by a kill) leaves a file. Without TEAR_AT it does nothing.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static long calls = 0;

static ssize_t tear(int fd, const void *buf, size_t n, off_t off) {
  static ssize_t (*real)(int, const void *, size_t, off_t) = 0;
  if (!real) real = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  const char *at = getenv("TEAR_AT");
  if (at && ++calls == atol(at)) {
    if (n / 2 > 0) real(fd, buf, n / 2, off);
    kill(getpid(), SIGKILL);
  }
  return real(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { return tear(fd, buf, n, off); }
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) { return tear(fd, buf, n, off); }
