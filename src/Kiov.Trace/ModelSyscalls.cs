using Kiov.Concurrency;
using Kiov.Fs;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Trace;

/// <summary>
/// The model back end of <see cref="ISyscalls"/>: one process on Kiov's own kernel. Like the host
/// runner it reserves the arena (a PROT_NONE private anonymous mapping, MAP_FIXED_NOREPLACE) before
/// the first line and maps trace fds to its own. <c>fill</c> and <c>hash</c> run the model's
/// <c>process_vm_rw_core</c> on the process itself, with the pattern in kernel pages standing for
/// the runner's buffer, a chunk at a time, as the host runner does.
/// </summary>
internal partial class ModelSyscalls : ISyscalls
{
    /// <summary>Physical memory of the model's machine: 64 GiB, reserved as address space and committed only as frames are first used, so a trace can fill the arena and more files besides.</summary>
    public const long MemoryBytes = 64L << 30;

    private const int ChunkPages = ModelRunnerBuffers.ChunkPages;
    private readonly TraceFdTable<int> _fds = new();
    private readonly ModelRunnerBuffers _buffers;
    private bool _disposed;

    /// <summary>Boots a machine behaving like <paramref name="config"/> (by default the running kernel
    /// with this machine's <see cref="ProcLimits"/> limits, as the host back end sees them) with one
    /// process, and reserves the arena in it.</summary>
    /// <param name="config">The kernel to behave like.</param>
    /// <param name="memoryBytes">Physical memory: less than <see cref="MemoryBytes"/> for litmus tests, which
    /// boot a machine per schedule and map a few pages.</param>
    public ModelSyscalls(KernelConfig? config = null, long memoryBytes = MemoryBytes)
    {
        Kernel = new Kernel(config ?? KernelConfig.Current with { Limits = ProcLimits.Current }, memoryBytes);
        Process = Kernel.CreateProcess();
        long r = Process.Mm.Mmap(TraceArena.Start, TraceArena.Size, Prot.None,
            MapFlags.Private | MapFlags.Anonymous | MapFlags.FixedNoReplace);
        if (r != (long)TraceArena.Start) throw new InvalidOperationException($"the model cannot reserve the arena: {r}");
        _buffers = new ModelRunnerBuffers(Kernel.Memory);
    }

    /// <summary>Gives threads 0 to <paramref name="count"/>-1 of a par line a runner buffer each
    /// (<see cref="ModelRunnerBuffers"/>), before they start.</summary>
    /// <param name="count">The line's threads.</param>
    internal void ReadyThreads(int count) => _buffers.ReadyThreads(count);

    /// <summary>The machine.</summary>
    public Kernel Kernel { get; }

    /// <summary>The process the trace runs as.</summary>
    public Process Process { get; }

    private int Fd(int traceFd) => _fds.TryGet(traceFd, out int fd) ? fd : -1;

    private long AddFd(long fd) => fd < 0 ? fd : _fds.Add((int)fd);

    /// <inheritdoc/>
    public long Mmap(ulong addr, ulong len, int prot, int flags, int fd, long offset) =>
        Syscalls.Mmap(Process, addr, len, prot, flags, (flags & MapFlags.Anonymous) != 0 ? -1 : Fd(fd), offset);

    /// <inheritdoc/>
    public long Munmap(ulong addr, ulong len) => Syscalls.Munmap(Process, addr, len);

    /// <inheritdoc/>
    public long Mprotect(ulong addr, ulong len, int prot) => Syscalls.Mprotect(Process, addr, len, prot);

    /// <inheritdoc/>
    public long Madvise(ulong addr, ulong len, int advice) => Syscalls.Madvise(Process, addr, len, advice);

    /// <inheritdoc/>
    public long Fill(ulong addr, ulong len, uint seed)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ModelRunnerBuffers.Chunk chunk = _buffers.Current;
        var buffer = new ModelChunk(this, chunk);
        Sched.Lock(chunk); // a par thread's own, so never contended there; the runner's otherwise
        lock (chunk) return SelfCopy.Fill(ref buffer, addr, len, seed);
    }

    /// <inheritdoc/>
    public long Hash(ulong addr, ulong len, out ulong hash)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ModelRunnerBuffers.Chunk chunk = _buffers.Current;
        var buffer = new ModelChunk(this, chunk);
        Sched.Lock(chunk);
        lock (chunk) return SelfCopy.Hash(ref buffer, addr, len, out hash);
    }

    // Kernel pages standing for the runner's buffer, moved by the model's process_vm_rw_core.
    private readonly struct ModelChunk(ModelSyscalls owner, ModelRunnerBuffers.Chunk chunk) : ISelfCopyBuffer
    {
        public int ChunkSize => ChunkPages * PageSize;

        public void Generate(uint seed, ulong offset, int n)
        {
            chunk.Ensure(n, owner.Kernel.Memory);
            for (int i = 0; i * PageSize < n; i++)
                FillPattern.Generate(seed, offset + (ulong)i * PageSize, Page(i, n));
        }

        public long Copy(ulong remote, int n, bool write)
        {
            chunk.Ensure(n, owner.Kernel.Memory);
            var local = IovIter.Bvec(write, owner.Kernel.Space, chunk.Vec, (n + PageSize - 1) / PageSize, (ulong)n);
            return Syscalls.ProcessVmRwCore(owner.Process, ref local, [new IoVec(remote, (ulong)n)], write);
        }

        public ulong Hash(ulong hash, int n)
        {
            for (int i = 0; i * PageSize < n; i++) hash = Fnv1a64.Append(hash, Page(i, n));
            return hash;
        }

        private Span<byte> Page(int i, int n) => owner.Kernel.Memory.Span(chunk.Pages[i])[..Math.Min(PageSize, n - i * PageSize)];
    }

    /// <inheritdoc/>
    public long Pipe(out int readFd, out int writeFd)
    {
        readFd = writeFd = -1;
        long r = Syscalls.Pipe2(Process, OpenFlags.NonBlock, out int rfd, out int wfd);
        if (r < 0) return r;
        readFd = _fds.Add(rfd);
        writeFd = _fds.Add(wfd);
        return 0;
    }

    /// <inheritdoc/>
    public long Memfd() => Memfd(0);

    /// <inheritdoc/>
    public long Memfd(uint flags) => AddFd(Syscalls.MemfdCreate(Process, "kiov", flags));

    /// <inheritdoc/>
    public long Reopen(int fd, int flags) => AddFd(Syscalls.OpenProcFd(Process, Fd(fd), flags));

    /// <inheritdoc/>
    public long Dup(int fd) => AddFd(Syscalls.Dup(Process, Fd(fd)));

    /// <inheritdoc/>
    public long Lseek(int fd, long offset, int whence) => Syscalls.Lseek(Process, Fd(fd), offset, whence);

    /// <inheritdoc/>
    public long Fcntl(int fd, int cmd, ulong arg) => Syscalls.Fcntl(Process, Fd(fd), cmd, arg);

    /// <inheritdoc/>
    public long Tee(int fdIn, int fdOut, ulong len) => Syscalls.Tee(Process, Fd(fdIn), Fd(fdOut), len, SpliceFlags.NonBlock);

    /// <inheritdoc/>
    public long Preadv2(int fd, ReadOnlySpan<IoVec> iov, long offset, int flags) =>
        Syscalls.Preadv2(Process, Fd(fd), iov, offset, (Rwf)flags);

    /// <inheritdoc/>
    public long Pwritev2(int fd, ReadOnlySpan<IoVec> iov, long offset, int flags) =>
        Syscalls.Pwritev2(Process, Fd(fd), iov, offset, (Rwf)flags);

    /// <inheritdoc/>
    public long VectorAt(VectorCall call, int fd, ulong iovAddr, ulong iovcnt, long offset, int flags) => call switch
    {
        VectorCall.Readv => Syscalls.Readv(Process, Fd(fd), iovAddr, iovcnt),
        VectorCall.Writev => Syscalls.Writev(Process, Fd(fd), iovAddr, iovcnt),
        VectorCall.Preadv => Syscalls.Preadv(Process, Fd(fd), iovAddr, iovcnt, offset),
        VectorCall.Pwritev => Syscalls.Pwritev(Process, Fd(fd), iovAddr, iovcnt, offset),
        VectorCall.Preadv2 => Syscalls.Preadv2(Process, Fd(fd), iovAddr, iovcnt, offset, (Rwf)flags),
        VectorCall.Pwritev2 => Syscalls.Pwritev2(Process, Fd(fd), iovAddr, iovcnt, offset, (Rwf)flags),
        VectorCall.Vmsplice => Syscalls.Vmsplice(Process, Fd(fd), iovAddr, iovcnt, SpliceFlags.NonBlock),
        _ => throw new ArgumentOutOfRangeException(nameof(call)),
    };

    /// <inheritdoc/>
    public long ProcessVmAt(bool write, ulong localAddr, ulong localCnt, ulong remoteAddr, ulong remoteCnt) => write
        ? Syscalls.ProcessVmWritev(Process, Process, localAddr, localCnt, remoteAddr, remoteCnt, 0)
        : Syscalls.ProcessVmReadv(Process, Process, localAddr, localCnt, remoteAddr, remoteCnt, 0);

    /// <inheritdoc/>
    public long Poke(ulong addr, ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (bytes.Length > ChunkPages * PageSize) throw new ArgumentException("poke is larger than the runner's buffer", nameof(bytes));
        if (bytes.IsEmpty) return 0;
        ModelRunnerBuffers.Chunk chunk = _buffers.Current;
        Sched.Lock(chunk);
        lock (chunk)
        {
            chunk.Ensure(bytes.Length, Kernel.Memory);
            for (int i = 0; i * PageSize < bytes.Length; i++)
            {
                ReadOnlySpan<byte> part = bytes[(i * PageSize)..Math.Min(bytes.Length, (i + 1) * PageSize)];
                part.CopyTo(Kernel.Memory.Span(chunk.Pages[i]));
            }
            var local = IovIter.Bvec(true, Kernel.Space, chunk.Vec, (bytes.Length + PageSize - 1) / PageSize, (ulong)bytes.Length);
            return Syscalls.ProcessVmRwCore(Process, ref local, [new IoVec(addr, (ulong)bytes.Length)], true);
        }
    }

    /// <inheritdoc/>
    public long Mremap(ulong addr, ulong oldLen, ulong newLen, int flags, ulong newAddr) =>
        Syscalls.Mremap(Process, addr, oldLen, newLen, flags, newAddr);

    /// <inheritdoc/>
    public long Mlock(ulong addr, ulong len) => Syscalls.Mlock(Process, addr, len);

    /// <inheritdoc/>
    public long Munlock(ulong addr, ulong len) => Syscalls.Munlock(Process, addr, len);

    /// <inheritdoc/>
    public long Msync(ulong addr, ulong len, int flags) => Syscalls.Msync(Process, addr, len, flags);

    /// <inheritdoc/>
    public long Mincore(ulong addr, ulong len, Span<byte> vec) => Syscalls.Mincore(Process, addr, len, vec);

    /// <inheritdoc/>
    public long Ftruncate(int fd, long len) => Syscalls.Ftruncate(Process, Fd(fd), len);

    /// <inheritdoc/>
    public long Close(int fd) => Syscalls.Close(Process, _fds.Remove(fd, out int real) ? real : -1);

    /// <inheritdoc/>
    public long Read(int fd, ulong addr, ulong len) => Syscalls.Read(Process, Fd(fd), addr, len);

    /// <inheritdoc/>
    public long Write(int fd, ulong addr, ulong len) => Syscalls.Write(Process, Fd(fd), addr, len);

    /// <inheritdoc/>
    public long Readv(int fd, ReadOnlySpan<IoVec> iov) => Syscalls.Readv(Process, Fd(fd), iov);

    /// <inheritdoc/>
    public long Writev(int fd, ReadOnlySpan<IoVec> iov) => Syscalls.Writev(Process, Fd(fd), iov);

    /// <inheritdoc/>
    public long Preadv(int fd, ReadOnlySpan<IoVec> iov, long offset) => Syscalls.Preadv(Process, Fd(fd), iov, offset);

    /// <inheritdoc/>
    public long Pwritev(int fd, ReadOnlySpan<IoVec> iov, long offset) => Syscalls.Pwritev(Process, Fd(fd), iov, offset);

    /// <inheritdoc/>
    public long ProcessVmReadv(ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote) =>
        Syscalls.ProcessVmReadv(Process, Process, local, remote, 0);

    /// <inheritdoc/>
    public long ProcessVmWritev(ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote) =>
        Syscalls.ProcessVmWritev(Process, Process, local, remote, 0);

    /// <inheritdoc/>
    public long Vmsplice(int fd, ReadOnlySpan<IoVec> iov) => Syscalls.Vmsplice(Process, Fd(fd), iov, SpliceFlags.NonBlock);

    /// <inheritdoc/>
    public long Splice(int fdIn, long? offIn, int fdOut, long? offOut, ulong len) =>
        Syscalls.Splice(Process, Fd(fdIn), offIn, Fd(fdOut), offOut, len, SpliceFlags.NonBlock);

    /// <summary>Ends the process and the machine; throws <see cref="KiovBugException"/> if a frame leaked.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_root != null) { Process.Dispose(); return; }  // a forked child: the machine is its root's
        _buffers.Free();
        Kernel.ExitAllProcesses();  // this process and any child of fork still running
        var leaks = Kernel.LeakReport();
        Kernel.Dispose();
        if (leaks.Count != 0)
            throw new KiovBugException($"the model leaked {leaks.Count} frames, first {leaks[0]}");
    }
}
