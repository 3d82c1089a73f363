/*
 * kiov-exec: the host-side process of kiov's host back end (ExecutorHostKernel.cs).
 *
 * kiov never makes a trace's system calls in its own process: it starts this small program,
 * which reserves the trace arena in its own address space and makes every call there, so a
 * hostile trace can at worst kill this process, never corrupt kiov. kiov sees the death as EOF
 * on the channel and reports it.
 *
 * Usage: kiov-exec FD [FAULT_AFTER]. FD is one end of a unix stream socketpair, the channel
 * (kiov passes it as fd 3).
 * FAULT_AFTER, for tests only, makes the process kill itself (SIGKILL: no core file) on receiving
 * that many requests, as a crash in the middle of a trace would.
 *
 * Protocol (all integers little-endian, as the machine's own): kiov sends requests, each a
 * header of 8 signed 64-bit words { op, a1..a7 }, and the executor answers those that need it
 * with a reply of 2 words { ret, value }. At start the executor sends a hello of 4 words
 * { KIOV_EXEC_MAGIC, status (0 or -errno of the arena reservation), scratch address, scratch size }.
 *
 *   SYSCALL        nr, a0..a5        -> { syscall(nr, a0..a5) or -errno, 0 }
 *   WRITE_SCRATCH  offset, len, then len bytes    (no reply: the next reply orders it)
 *   READ_SCRATCH   offset, len       -> { len, 0 } then len bytes
 *   FILL           addr, len, seed   -> { docs/trace-format.md fill result, 0 }
 *   HASH           addr, len         -> { docs/trace-format.md hash result, FNV-1a 64 }
 *   RESET                            -> { 0 or -errno, 0 }: kills and reaps forked children,
 *                                       closes every fd but the channel, unmaps the arena and
 *                                       its guard page and reserves both again
 *   FORK                             -> { child pid or -errno, 0 }, with the child's channel
 *                                       (a new socketpair end) attached as SCM_RIGHTS; the
 *                                       child serves that channel, with a copy of everything
 *   EXIT                             -> { 0, 0 }, then the process exits
 *   THREAD_CHANNELS n                -> { n or -errno, base }, with n new channels (socketpair
 *                                       ends) attached as SCM_RIGHTS: thread channels, each served
 *                                       by a thread of the executor until kiov closes it, with
 *                                       SYSCALL, WRITE_SCRATCH, READ_SCRATCH, FILL, HASH and FORK only, on
 *                                       a scratch buffer of its own: thread i's is at
 *                                       base + i * scratch size. The threads wait on a barrier for
 *                                       each other before serving, and the executor serves its own
 *                                       channel again only once every one of them has ended.
 *
 * A request that breaks the protocol (unknown op, scratch range out of bounds) ends the
 * process with status 2; a lost channel (EOF) ends it with status 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIOV_EXEC_MAGIC 0x6b696f7665786563LL /* "kiovexec" */

enum
{
    OP_SYSCALL = 1,
    OP_WRITE_SCRATCH = 2,
    OP_READ_SCRATCH = 3,
    OP_FILL = 4,
    OP_HASH = 5,
    OP_RESET = 6,
    OP_FORK = 7,
    OP_EXIT = 8,
    OP_THREAD_CHANNELS = 9,
};

#define ARENA_START 0x100000000000ULL
#define ARENA_SIZE 0x40000000ULL
#define GUARD_SIZE 0x1000ULL
#define SCRATCH_SIZE (1 << 20)
#define CHUNK_SIZE (1 << 20)
#define MAX_RW_COUNT 0x7ffff000ULL
#define CHANNEL_FD 3
#define MAX_CHILDREN 256
#define MAX_THREADS 64

static unsigned char *scratch;
static unsigned char *chunk;
static long long fault_after = -1;
static pid_t children[MAX_CHILDREN];
static int child_count;
static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER; /* thread channels fork too */
static int thread_fds[MAX_THREADS]; /* the executor's ends of the thread channels, -1 when none */
static int thread_fd_count;

static long raw(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    long ret = syscall(nr, a0, a1, a2, a3, a4, a5);
    return ret == -1 ? -errno : ret;
}

/* The arena, PROT_NONE and never replacing anything, and right after it the guard page: an
 * empty memfd mapped shared and PROT_NONE, which no access crosses, not even a forced one. */
static long reserve_arena(void)
{
    long arena = raw(SYS_mmap, (long)ARENA_START, (long)ARENA_SIZE, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (arena < 0)
        return arena;
    if ((unsigned long long)arena != ARENA_START)
    {
        munmap((void *)arena, ARENA_SIZE);
        return -EEXIST;
    }
    long memfd = raw(SYS_memfd_create, (long)"kiov-guard", MFD_CLOEXEC, 0, 0, 0, 0);
    if (memfd < 0)
        return memfd;
    long guard = raw(SYS_mmap, (long)(ARENA_START + ARENA_SIZE), (long)GUARD_SIZE, PROT_NONE,
                     MAP_SHARED | MAP_FIXED_NOREPLACE, memfd, 0);
    close((int)memfd);
    return guard < 0 ? guard : 0;
}

/* 0, or -1 once kiov is gone or has closed the channel: nothing left to serve on it. */
static int read_all(int fd, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0)
    {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0)
    {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int reply(int fd, long long ret, unsigned long long value)
{
    long long words[2] = {ret, (long long)value};
    return write_all(fd, words, sizeof words);
}

/* fill and hash as docs/trace-format.md defines them: what one process_vm_{writev,readv}(self, [[buf, len]],
 * [[addr, len]], 0) returns, done a chunk at a time. len >= 2^63 is EINVAL (the local iovec's
 * import refuses it), len 0 copies nothing, and the copy is clamped to MAX_RW_COUNT. A chunk that
 * comes back short ends the copy at the same byte one call would stop at; the bytes copied are
 * returned if any, else the first chunk's error. The fill pattern's index runs over the whole fill. */
static long long self_copy(unsigned char *chunk, unsigned long long addr, unsigned long long len, int write,
                           uint32_t seed, unsigned long long *hash)
{
    if ((long long)len < 0)
        return -EINVAL;
    unsigned long long total = len < MAX_RW_COUNT ? len : MAX_RW_COUNT;
    unsigned long long done = 0;
    uint32_t a = seed * 0x9E3779B1u;
    pid_t self = getpid();
    while (done < total)
    {
        size_t n = total - done < CHUNK_SIZE ? (size_t)(total - done) : CHUNK_SIZE;
        if (write)
        {
            uint32_t k = (uint32_t)done;
            for (size_t i = 0; i < n; i++, k++)
                chunk[i] = (unsigned char)(a ^ (k * 0x85EBCA77u) ^ (k >> 7));
        }
        struct iovec local = {chunk, n};
        struct iovec remote = {(void *)(uintptr_t)(addr + done), n};
        long ret = raw(write ? SYS_process_vm_writev : SYS_process_vm_readv, self, (long)&local, 1,
                       (long)&remote, 1, 0);
        if (ret < 0)
            return done > 0 ? (long long)done : ret;
        if (!write)
        {
            unsigned long long h = *hash;
            for (long i = 0; i < ret; i++)
                h = (h ^ chunk[i]) * 0x100000001b3ULL;
            *hash = h;
        }
        done += (unsigned long long)ret;
        if ((size_t)ret < n)
            break;
    }
    return (long long)done;
}

static void close_trace_fds(void)
{
    if (raw(SYS_close_range, CHANNEL_FD + 1, ~0U, 0, 0, 0, 0) == 0)
        return;
    for (int fd = CHANNEL_FD + 1; fd < 65536; fd++) /* kernels before 5.9 */
        close(fd);
}

static long reset(void)
{
    for (int i = 0; i < child_count; i++)
    {
        kill(children[i], SIGKILL);
        while (waitpid(children[i], NULL, 0) < 0 && errno == EINTR)
            ;
    }
    child_count = 0;
    close_trace_fds();
    raw(SYS_munmap, (long)ARENA_START, (long)(ARENA_SIZE + GUARD_SIZE), 0, 0, 0, 0);
    return reserve_arena();
}

/* The answer { ret, value } with `count` fds attached as SCM_RIGHTS. */
static int reply_with_fds(int fd, long long ret, long long value, const int *fds, int count)
{
    long long words[2] = {ret, value};
    struct iovec iov = {words, sizeof words};
    union
    {
        char buf[CMSG_SPACE(sizeof(int) * MAX_THREADS)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count)};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)count);
    ssize_t sent;
    while ((sent = sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0)
        if (errno != EINTR)
            return -1;
    return sent == (ssize_t)sizeof words ? 0 : write_all(fd, (char *)words + sent, sizeof words - (size_t)sent);
}

/* fork(): the child serves a channel of its own, made before the fork; the parent hands its
 * other end to kiov with the reply. Returns 1 in the child (which then serves CHANNEL_FD, its only
 * thread being the one that forked), 0 in the parent. A thread channel's thread may fork too (a fork
 * inside a par line): the child holds none of the thread channels, which are the parent's. */
static int fork_executor(int fd)
{
    int pair[2];
    pthread_mutex_lock(&children_lock);
    if (child_count == MAX_CHILDREN)
    {
        pthread_mutex_unlock(&children_lock);
        reply(fd, -EAGAIN, 0);
        return 0;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
    {
        pthread_mutex_unlock(&children_lock);
        reply(fd, -errno, 0);
        return 0;
    }
    pid_t pid = fork();
    if (pid < 0)
    {
        int err = errno;
        pthread_mutex_unlock(&children_lock);
        close(pair[0]);
        close(pair[1]);
        reply(fd, -err, 0);
        return 0;
    }
    if (pid == 0)
    {
        /* No PR_SET_PDEATHSIG here: a trace's process outlives its parent's exit (docs/trace-format.md: exit of
         * pid 1 leaves pid 1's children running). If kiov dies, EOF on this channel ends us. */
        child_count = 0;
        pthread_mutex_init(&children_lock, NULL); /* held by the forking thread in the parent's copy */
        for (int i = 0; i < thread_fd_count; i++)
            if (thread_fds[i] >= 0 && thread_fds[i] != pair[1])
                close(thread_fds[i]);
        thread_fd_count = 0;
        dup2(pair[1], CHANNEL_FD); /* replaces the parent's channel in this copy */
        close(pair[0]);
        close(pair[1]);
        return 1;
    }
    children[child_count++] = pid;
    close(pair[1]);
    int sent = reply_with_fds(fd, pid, 0, &pair[0], 1);
    close(pair[0]);
    /* Held until this fork's channel ends are closed here, so that a fork from another thread
     * cannot copy them into its child (which would keep a dead child's channel from ending). */
    pthread_mutex_unlock(&children_lock);
    if (sent < 0)
        _exit(0);
    return 0;
}

static int in_scratch(long long offset, long long len)
{
    return offset >= 0 && len >= 0 && offset <= SCRATCH_SIZE && len <= SCRATCH_SIZE - offset;
}

/* The requests every channel serves, on its own scratch buffer and chunk: 1 if `w` was one of
 * them and its answer went out, 0 if it is not one of them, -1 if the channel is lost. */
static int dispatch(int fd, const long long *w, unsigned char *own_scratch, unsigned char *own_chunk)
{
    unsigned long long hash = 0xcbf29ce484222325ULL;
    long long ret;
    switch (w[0])
    {
    case OP_SYSCALL:
        ret = raw((long)w[1], (long)w[2], (long)w[3], (long)w[4], (long)w[5], (long)w[6], (long)w[7]);
        return reply(fd, ret, 0) < 0 ? -1 : 1;
    case OP_WRITE_SCRATCH:
        if (!in_scratch(w[1], w[2]))
            _exit(2);
        return read_all(fd, own_scratch + w[1], (size_t)w[2]) < 0 ? -1 : 1;
    case OP_READ_SCRATCH:
        if (!in_scratch(w[1], w[2]))
            _exit(2);
        return reply(fd, w[2], 0) < 0 || write_all(fd, own_scratch + w[1], (size_t)w[2]) < 0 ? -1 : 1;
    case OP_FILL:
        ret = self_copy(own_chunk, (unsigned long long)w[1], (unsigned long long)w[2], 1, (uint32_t)w[3], &hash);
        return reply(fd, ret, 0) < 0 ? -1 : 1;
    case OP_HASH:
        ret = self_copy(own_chunk, (unsigned long long)w[1], (unsigned long long)w[2], 0, 0, &hash);
        return reply(fd, ret, hash) < 0 ? -1 : 1;
    default:
        return 0;
    }
}

static void serve(void);

struct thread_channel
{
    pthread_barrier_t *start;
    int fd, cpu;
    unsigned char *scratch, *chunk;
};

/* The index-th CPU this process may run on, round robin; -1 if none can be told. */
static int nth_cpu(long long index)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) < 0 || CPU_COUNT(&allowed) == 0)
        return -1;
    long long skip = index % CPU_COUNT(&allowed);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &allowed) && skip-- == 0)
            return cpu;
    return -1;
}

/* A thread channel's server: after the barrier, requests until kiov closes the channel. */
static void *serve_thread(void *arg)
{
    struct thread_channel *t = arg;
    if (t->cpu >= 0) /* one CPU each where there are several (best effort) */
    {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(t->cpu, &one);
        sched_setaffinity(0, sizeof one, &one);
    }
    pthread_barrier_wait(t->start);
    long long w[8];
    int status = 1;
    while (read_all(t->fd, w, sizeof w) == 0)
    {
        status = dispatch(t->fd, w, t->scratch, t->chunk);
        if (status == 0 && w[0] == OP_FORK)
        {
            if (fork_executor(t->fd))
                serve(); /* the child: this thread is all it has; it never returns */
            status = 1;
        }
        if (status <= 0)
            break;
    }
    if (status == 0)
        _exit(2);
    close(t->fd);
    return NULL;
}

/* THREAD_CHANNELS n: n threads, each serving a channel of its own; returns once all have ended. */
static void thread_channels(int fd, long long n)
{
    if (n < 1 || n > MAX_THREADS)
        _exit(2);
    size_t block_bytes = (size_t)n * (SCRATCH_SIZE + CHUNK_SIZE);
    unsigned char *block = mmap(NULL, block_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED)
    {
        if (reply(fd, -ENOMEM, 0) < 0)
            _exit(0);
        return;
    }
    int kiov_ends[MAX_THREADS];
    struct thread_channel threads[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    pthread_barrier_t start;
    /* The threads and this one: they serve only once kiov's ends are closed here, so that a fork
     * inside a par line cannot copy those ends into its child (which would keep a channel kiov
     * closed from ending, and its thread, and so this process, from going on). */
    pthread_barrier_init(&start, NULL, (unsigned)n + 1);
    long long made = 0, err = 0;
    for (; made < n; made++)
    {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
        {
            err = -errno;
            break;
        }
        kiov_ends[made] = pair[0];
        thread_fds[made] = pair[1];
        threads[made] = (struct thread_channel){&start, pair[1], nth_cpu(made), block + (size_t)made * SCRATCH_SIZE,
                                                block + (size_t)n * SCRATCH_SIZE + (size_t)made * CHUNK_SIZE};
    }
    thread_fd_count = (int)made;
    long long started = 0;
    for (; err == 0 && started < n; started++)
    {
        int e = pthread_create(&ids[started], NULL, serve_thread, &threads[started]);
        if (e != 0)
            _exit(3); /* the threads started wait at the barrier for ever: nothing to take back */
    }
    if (err != 0)
    {
        for (long long i = 0; i < made; i++)
        {
            close(kiov_ends[i]);
            close(threads[i].fd);
        }
        if (reply(fd, err, 0) < 0)
            _exit(0);
    }
    else
    {
        int sent = reply_with_fds(fd, n, (long long)(uintptr_t)block, kiov_ends, (int)n);
        for (long long i = 0; i < n; i++)
            close(kiov_ends[i]);
        if (sent < 0)
            _exit(0);
        pthread_barrier_wait(&start);
        for (long long i = 0; i < started; i++)
            pthread_join(ids[i], NULL);
    }
    thread_fd_count = 0;
    pthread_barrier_destroy(&start);
    munmap(block, block_bytes);
}

static void serve(void)
{
    long long requests = 0;
    for (;;)
    {
        int fd = CHANNEL_FD;
        long long w[8];
        if (read_all(fd, w, sizeof w) < 0)
            _exit(0); /* kiov is gone, or closed the channel: nothing left to serve */
        if (++requests == fault_after)
            kill(getpid(), SIGKILL);
        int served = dispatch(fd, w, scratch, chunk);
        if (served < 0)
            _exit(0);
        if (served > 0)
            continue;
        switch (w[0])
        {
        case OP_RESET:
            if (reply(fd, reset(), 0) < 0)
                _exit(0);
            break;
        case OP_FORK:
            fork_executor(fd); /* the child goes on serving here, on its own channel */
            break;
        case OP_EXIT:
            /* exit's effects on what other processes can see (its fds closed, its trace memory
             * gone) happen before the answer: _exit alone may still be closing them when kiov
             * sends the next op, and a pipe's last reader would then vanish at a random moment. */
            close_trace_fds();
            raw(SYS_munmap, (long)ARENA_START, (long)(ARENA_SIZE + GUARD_SIZE), 0, 0, 0, 0);
            reply(fd, 0, 0);
            _exit(0);
        case OP_THREAD_CHANNELS:
            thread_channels(fd, w[1]);
            break;
        default:
            _exit(2);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int channel = atoi(argv[1]);
    if (argc > 2)
        fault_after = atoll(argv[2]);
    if (channel != CHANNEL_FD && dup2(channel, CHANNEL_FD) < 0)
        return 2;
    if (channel != CHANNEL_FD)
        close(channel);
    /* Nothing of kiov's but the channel stays open here: standard streams go to /dev/null, so
     * this process can never write into kiov's output, and every other fd is closed. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0)
    {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    close_trace_fds();
    /* A write to a pipe without readers gives EPIPE, not death; no signal stays blocked from kiov's thread. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* The arena first, so that the buffers cannot land in it. */
    long long status = reserve_arena();
    scratch = mmap(NULL, SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    chunk = mmap(NULL, CHUNK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (status == 0 && (scratch == MAP_FAILED || chunk == MAP_FAILED))
        status = -ENOMEM;
    long long hello[4] = {KIOV_EXEC_MAGIC, status, (long long)(uintptr_t)scratch, SCRATCH_SIZE};
    if (write_all(CHANNEL_FD, hello, sizeof hello) < 0 || status < 0)
        return 1;
    serve();
    return 0;
}
