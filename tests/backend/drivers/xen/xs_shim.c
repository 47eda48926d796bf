/*
 * LD_PRELOAD shim letting Debian's real Xen tools run without a hypervisor, for tests.
 *
 * oxenstored (the OCaml XenStore daemon) then serves its Unix socket with the
 * real wire protocol: read/write/directory/rm/perms/watches/transactions and
 * INTRODUCE/RELEASE of domains (with @introduceDomain/@releaseDomain watches).
 * xl -N create (the toolstack's dry run) can parse configs and print libxl JSON.
 *
 * What it does:
 *  - setrlimit(): clamps the request to the container's hard limit (oxenstored asks for more);
 *  - paths under /var/run/xenstored and /run/xenstored (socket, db, pid) go to $XS_SHIM_DIR;
 *  - libxenctrl: xc_interface_open returns a dummy handle; xc_version, xc_physinfo answer
 *    for a 2-CPU host; xc_domain_getinfolist says every asked-for domain exists;
 *    xc_map_foreign_range maps a private zeroed page (a domain's empty XenStore ring);
 *  - libxenevtchn: a dummy handle whose fd is a pipe that never fires, ports are counters;
 *  - libxencall: buffers are calloc'd and every hypercall fails with ENOSYS, so
 *    anything not emulated above fails cleanly instead of crashing.
 *
 * Built by the test fixture: gcc -shared -fPIC -o xs_shim.so xs_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ---------------------------------------------------------------- limits */

int setrlimit(__rlimit_resource_t res, const struct rlimit *rl) {
  static int (*real)(__rlimit_resource_t, const struct rlimit *);
  if (!real) real = dlsym(RTLD_NEXT, "setrlimit");
  struct rlimit cur, want = *rl;
  if (getrlimit(res, &cur) == 0) {
    if (want.rlim_max > cur.rlim_max) want.rlim_max = cur.rlim_max;
    if (want.rlim_cur > want.rlim_max) want.rlim_cur = want.rlim_max;
  }
  return real(res, &want);
}

/* ---------------------------------------------------------------- paths */

static const char *redirect(const char *path, char *buf, size_t n) {
  const char *dir = getenv("XS_SHIM_DIR");
  static const char *prefixes[] = {"/var/run/xenstored", "/run/xenstored", NULL};
  if (!dir || !path) return path;
  for (int i = 0; prefixes[i]; i++) {
    size_t l = strlen(prefixes[i]);
    if (strncmp(path, prefixes[i], l) == 0 && (path[l] == 0 || path[l] == '/')) {
      snprintf(buf, n, "%s%s", dir, path + l);
      return buf;
    }
  }
  return path;
}

int bind(int fd, const struct sockaddr *sa, socklen_t len) {
  static int (*real)(int, const struct sockaddr *, socklen_t);
  if (!real) real = dlsym(RTLD_NEXT, "bind");
  if (sa && sa->sa_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path)) {
    struct sockaddr_un un;
    char path[sizeof un.sun_path + 1], buf[4096];
    size_t pl = len - offsetof(struct sockaddr_un, sun_path);
    if (pl > sizeof un.sun_path) pl = sizeof un.sun_path;
    memcpy(path, ((const struct sockaddr_un *)sa)->sun_path, pl);
    path[pl] = 0;
    const char *p = redirect(path, buf, sizeof buf);
    if (p != path) {
      if (strlen(p) >= sizeof un.sun_path) { errno = ENAMETOOLONG; return -1; }
      memset(&un, 0, sizeof un);
      un.sun_family = AF_UNIX;
      strcpy(un.sun_path, p);
      return real(fd, (struct sockaddr *)&un, offsetof(struct sockaddr_un, sun_path) + strlen(p) + 1);
    }
  }
  return real(fd, sa, len);
}

int unlink(const char *path) {
  static int (*real)(const char *);
  char buf[4096];
  if (!real) real = dlsym(RTLD_NEXT, "unlink");
  return real(redirect(path, buf, sizeof buf));
}

int mkdir(const char *path, mode_t m) {
  static int (*real)(const char *, mode_t);
  char buf[4096];
  if (!real) real = dlsym(RTLD_NEXT, "mkdir");
  return real(redirect(path, buf, sizeof buf), m);
}

#define OPEN_HOOK(name)                                                                   \
  int name(const char *path, int flags, ...) {                                            \
    static int (*real)(const char *, int, ...);                                           \
    char buf[4096];                                                                       \
    mode_t m = 0;                                                                         \
    if (!real) real = dlsym(RTLD_NEXT, #name);                                            \
    if (flags & (O_CREAT | O_TMPFILE)) {                                                  \
      va_list ap;                                                                         \
      va_start(ap, flags);                                                                \
      m = va_arg(ap, mode_t);                                                             \
      va_end(ap);                                                                         \
    }                                                                                     \
    return real(redirect(path, buf, sizeof buf), flags, m);                               \
  }
OPEN_HOOK(open)
OPEN_HOOK(open64)

int openat(int dfd, const char *path, int flags, ...) {
  static int (*real)(int, const char *, int, ...);
  char buf[4096];
  mode_t m = 0;
  if (!real) real = dlsym(RTLD_NEXT, "openat");
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    m = va_arg(ap, mode_t);
    va_end(ap);
  }
  return real(dfd, redirect(path, buf, sizeof buf), flags, m);
}

/* ---------------------------------------------------------------- libxenctrl */

void *xc_interface_open(void *logger, void *dombuild_logger, unsigned flags) { return calloc(1, 65536); }
int xc_interface_close(void *xch) { free(xch); return 0; }

int xc_version(void *xch, int cmd, void *arg) {
  switch (cmd) {
  case 0: return (4 << 16) | 17;                                  /* XENVER_version */
  case 1: strcpy(arg, ".0-shim"); return 0;                       /* XENVER_extraversion */
  case 2: memset(arg, 0, 4 * 64); strcpy(arg, "gcc"); return 0;   /* XENVER_compile_info */
  case 3: strcpy(arg, "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"); return 0;
  case 4: strcpy(arg, "shim"); return 0;                          /* XENVER_changeset */
  case 5: memset(arg, 0, 8); return 0;                            /* XENVER_platform_parameters */
  case 6: memset(arg, 0, 8); return 0;                            /* XENVER_get_features */
  case 7: return 4096;                                            /* XENVER_pagesize */
  case 9: strcpy(arg, ""); return 0;                              /* XENVER_commandline */
  default: errno = ENOSYS; return -1;
  }
}

/* struct xen_sysctl_physinfo (Xen 4.17): 10 uint32, 5 uint64, 8 uint32 */
int xc_physinfo(void *xch, void *info) {
  uint32_t *u = info;
  memset(info, 0, 112);
  u[0] = 1;       /* threads_per_core */
  u[1] = 2;       /* cores_per_socket */
  u[2] = 2;       /* nr_cpus */
  u[3] = 1;       /* max_cpu_id */
  u[4] = 1;       /* nr_nodes */
  u[6] = 2000000; /* cpu_khz */
  u[7] = 3;       /* capabilities: hvm | pv */
  *(uint64_t *)((char *)info + 40) = 262144; /* total_pages: 1 GiB */
  *(uint64_t *)((char *)info + 48) = 131072; /* free_pages */
  return 0;
}

int xc_domain_getinfolist(void *xch, uint32_t first, unsigned max, void *info) {
  if (max < 1) return 0;
  memset(info, 0, 8);
  *(uint16_t *)info = (uint16_t)first; /* domain id; flags 0: running */
  return 1;
}

void *xc_map_foreign_range(void *xch, uint32_t dom, int size, int prot, unsigned long mfn) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* ---------------------------------------------------------------- libxenevtchn */

static int dummy_handle;
static int pipefd[2] = {-1, -1};
static unsigned next_port = 10;

void *xenevtchn_open(void *logger, unsigned flags) { return &dummy_handle; }
void *xenevtchn_fdopen(void *logger, int fd, unsigned flags) { return &dummy_handle; }
int xenevtchn_close(void *h) { return 0; }
int xenevtchn_fd(void *h) {
  if (pipefd[0] < 0 && pipe(pipefd) != 0) return -1;
  return pipefd[0];
}
int xenevtchn_bind_virq(void *h, unsigned virq) { return next_port++; }
int xenevtchn_bind_interdomain(void *h, uint32_t dom, unsigned port) { return port; }
int xenevtchn_unbind(void *h, unsigned port) { return 0; }
int xenevtchn_notify(void *h, unsigned port) { return 0; }
int xenevtchn_pending(void *h) { errno = EAGAIN; return -1; }
int xenevtchn_unmask(void *h, unsigned port) { return 0; }

/* ---------------------------------------------------------------- libxencall */

void *xencall_open(void *logger, unsigned flags) { return calloc(1, 4096); }
int xencall_close(void *h) { free(h); return 0; }
void *xencall_alloc_buffer(void *h, size_t size) { return calloc(1, size); }
void xencall_free_buffer(void *h, void *p) { free(p); }
void *xencall_alloc_buffer_pages(void *h, size_t n) { return calloc(n, 4096); }
void xencall_free_buffer_pages(void *h, void *p, size_t n) { free(p); }
long xencall0(void *h, unsigned op) { errno = ENOSYS; return -1; }
long xencall1(void *h, unsigned op, uint64_t a) { errno = ENOSYS; return -1; }
long xencall2(void *h, unsigned op, uint64_t a, uint64_t b) { errno = ENOSYS; return -1; }
long xencall3(void *h, unsigned op, uint64_t a, uint64_t b, uint64_t c) { errno = ENOSYS; return -1; }
long xencall4(void *h, unsigned op, uint64_t a, uint64_t b, uint64_t c, uint64_t d) { errno = ENOSYS; return -1; }
long xencall5(void *h, unsigned op, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) {
  errno = ENOSYS;
  return -1;
}
