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
 *   FILL           addr, len, seed   -> { TRACE.md fill result, 0 }
 *   HASH           addr, len         -> { TRACE.md hash result, FNV-1a 64 }
 *   RESET                            -> { 0 or -errno, 0 }: kills and reaps forked children,
 *                                       closes every fd but the channel, unmaps the arena and
 *                                       its guard page and reserves both again
 *   FORK                             -> { child pid or -errno, 0 }, with the child's channel
 *                                       (a new socketpair end) attached as SCM_RIGHTS; the
 *                                       child serves that channel, with a copy of everything
 *   EXIT                             -> { 0, 0 }, then the process exits
 *   THREADS        threads, ops, timeout_ms, then the ops per thread and the ops (8 words each:
 *                  SYSCALL, FILL or HASH) -> { 0 or -ETIMEDOUT, 0 } then { ret, value } per op:
 *                  each list runs on a thread of its own, all released together from a barrier
 *
 * A request that breaks the protocol (unknown op, scratch range out of bounds) ends the
 * process with status 2; a lost channel (EOF) ends it with status 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include <time.h>
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
    OP_THREADS = 9,
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
#define MAX_THREAD_OPS 65536

static unsigned char *scratch;
static unsigned char *chunk;
static long long fault_after = -1;
static pid_t children[MAX_CHILDREN];
static int child_count;

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

static void read_all(int fd, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0)
    {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(0); /* kiov is gone, or closed the channel: nothing left to serve */
        p += n;
        len -= (size_t)n;
    }
}

static void write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0)
    {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(0);
        p += n;
        len -= (size_t)n;
    }
}

static void reply(int fd, long long ret, unsigned long long value)
{
    long long words[2] = {ret, (long long)value};
    write_all(fd, words, sizeof words);
}

/* fill and hash as TRACE.md defines them: what one process_vm_{writev,readv}(self, [[buf, len]],
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

/* fork(): the child serves a channel of its own, made before the fork; the parent hands its
 * other end to kiov with the reply. */
static void fork_executor(int fd)
{
    int pair[2];
    if (child_count == MAX_CHILDREN)
    {
        reply(fd, -EAGAIN, 0);
        return;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
    {
        reply(fd, -errno, 0);
        return;
    }
    pid_t pid = fork();
    if (pid < 0)
    {
        int err = errno;
        close(pair[0]);
        close(pair[1]);
        reply(fd, -err, 0);
        return;
    }
    if (pid == 0)
    {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        child_count = 0;
        dup2(pair[1], CHANNEL_FD); /* replaces the parent's channel in this copy */
        close(pair[0]);
        close(pair[1]);
        return;
    }
    children[child_count++] = pid;
    close(pair[1]);
    long long words[2] = {pid, 0};
    struct iovec iov = {words, sizeof words};
    union
    {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &pair[0], sizeof(int));
    while (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0)
        if (errno != EINTR)
            _exit(0);
    close(pair[0]);
}

/* THREADS: op lists run on threads of their own, released together from a barrier. */
struct thread_work
{
    pthread_barrier_t *start;
    const long long (*ops)[8];
    long long (*results)[2];
    long long count;
    unsigned char *chunk;
    int done;
};

static long long run_one(const long long *w, unsigned char *own_chunk, unsigned long long *value)
{
    *value = 0;
    switch (w[0])
    {
    case OP_SYSCALL:
        return raw((long)w[1], (long)w[2], (long)w[3], (long)w[4], (long)w[5], (long)w[6], (long)w[7]);
    case OP_FILL:
        return self_copy(own_chunk, (unsigned long long)w[1], (unsigned long long)w[2], 1, (uint32_t)w[3], value);
    case OP_HASH:
        *value = 0xcbf29ce484222325ULL;
        return self_copy(own_chunk, (unsigned long long)w[1], (unsigned long long)w[2], 0, 0, value);
    default:
        return -EINVAL;
    }
}

static void *thread_main(void *arg)
{
    struct thread_work *work = arg;
    pthread_barrier_wait(work->start);
    for (long long i = 0; i < work->count; i++)
    {
        unsigned long long value;
        work->results[i][0] = run_one(work->ops[i], work->chunk, &value);
        work->results[i][1] = (long long)value;
    }
    __atomic_store_n(&work->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* THREADS threads, ops, timeout_ms; then `threads` words (ops per thread) and `ops` requests of 8
 * words (SYSCALL, FILL or HASH only). Reply: { 0, or -ETIMEDOUT if some thread had not finished by
 * the deadline, or -errno if the threads could not start } and then { ret, value } for every op,
 * in the order sent (an op that never ran reads { -ETIMEDOUT, 0 }). After a timeout the stuck
 * threads cannot be taken back, so the executor exits after its reply. */
static void run_threads(int fd, long long threads, long long ops, long long timeout_ms)
{
    if (threads < 1 || threads > MAX_THREADS || ops < 0 || ops > MAX_THREAD_OPS)
        _exit(2);
    long long counts[MAX_THREADS];
    read_all(fd, counts, (size_t)threads * sizeof counts[0]);
    long long total = 0;
    for (long long t = 0; t < threads; t++)
    {
        if (counts[t] < 0 || counts[t] > ops - total)
            _exit(2);
        total += counts[t];
    }
    if (total != ops)
        _exit(2);
    size_t op_bytes = (size_t)ops * 8 * sizeof(long long), result_bytes = (size_t)ops * 2 * sizeof(long long);
    size_t chunk_bytes = (size_t)threads * CHUNK_SIZE;
    unsigned char *block = mmap(NULL, op_bytes + result_bytes + chunk_bytes, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED)
        _exit(3);
    long long(*op_list)[8] = (long long(*)[8])block;
    long long(*results)[2] = (long long(*)[2])(block + op_bytes);
    read_all(fd, op_list, op_bytes);
    for (long long i = 0; i < ops; i++)
    {
        results[i][0] = -ETIMEDOUT;
        results[i][1] = 0;
    }
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    struct thread_work work[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    long long status = 0, first = 0;
    int started = 0;
    for (long long t = 0; t < threads; t++)
    {
        work[t] = (struct thread_work){&start, (const long long(*)[8])op_list + first, results + first, counts[t],
                                       block + op_bytes + result_bytes + (size_t)t * CHUNK_SIZE, 0};
        first += counts[t];
        int err = pthread_create(&ids[t], NULL, thread_main, &work[t]);
        if (err != 0)
        {
            /* The threads started wait at the barrier for ever: nothing to do but say so and go. */
            status = -err;
            break;
        }
        started++;
    }
    if (status == 0)
    {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000)
        {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        for (int t = 0; t < started; t++)
            if (pthread_timedjoin_np(ids[t], NULL, &deadline) != 0)
                status = -ETIMEDOUT;
    }
    reply(fd, status, 0);
    write_all(fd, results, result_bytes);
    if (status != 0)
        _exit(0);
    pthread_barrier_destroy(&start);
    munmap(block, op_bytes + result_bytes + chunk_bytes);
}

static int in_scratch(long long offset, long long len)
{
    return offset >= 0 && len >= 0 && offset <= SCRATCH_SIZE && len <= SCRATCH_SIZE - offset;
}

static void serve(void)
{
    long long requests = 0;
    for (;;)
    {
        int fd = CHANNEL_FD;
        long long w[8];
        read_all(fd, w, sizeof w);
        if (++requests == fault_after)
            kill(getpid(), SIGKILL);
        unsigned long long hash = 0xcbf29ce484222325ULL;
        switch (w[0])
        {
        case OP_SYSCALL:
            reply(fd, raw((long)w[1], (long)w[2], (long)w[3], (long)w[4], (long)w[5], (long)w[6], (long)w[7]), 0);
            break;
        case OP_WRITE_SCRATCH:
            if (!in_scratch(w[1], w[2]))
                _exit(2);
            read_all(fd, scratch + w[1], (size_t)w[2]);
            break;
        case OP_READ_SCRATCH:
            if (!in_scratch(w[1], w[2]))
                _exit(2);
            reply(fd, w[2], 0);
            write_all(fd, scratch + w[1], (size_t)w[2]);
            break;
        case OP_FILL:
            reply(fd, self_copy(chunk, (unsigned long long)w[1], (unsigned long long)w[2], 1, (uint32_t)w[3], &hash), 0);
            break;
        case OP_HASH:
        {
            long long ret = self_copy(chunk, (unsigned long long)w[1], (unsigned long long)w[2], 0, 0, &hash);
            reply(fd, ret, hash);
            break;
        }
        case OP_RESET:
            reply(fd, reset(), 0);
            break;
        case OP_FORK:
            fork_executor(fd);
            break;
        case OP_EXIT:
            reply(fd, 0, 0);
            _exit(0);
        case OP_THREADS:
            run_threads(fd, w[1], w[2], w[3]);
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
    write_all(CHANNEL_FD, hello, sizeof hello);
    if (status < 0)
        return 1;
    serve();
    return 0;
}
