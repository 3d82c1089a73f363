using Kiov.Iov;
using System.Runtime.InteropServices;
using static Kiov.Abi.SyscallNumbers;

namespace Kiov.Trace;

/// <summary>
/// The host back end of <see cref="ISyscalls"/>: the running Linux kernel, reached through an
/// <see cref="IHostKernel"/> that makes each call in the host-side process, which holds the
/// arena (docs/trace-format.md) and the trace's real fds. Trace addresses go to the kernel as they are and
/// are never dereferenced here; iovec arrays, fd pairs and offsets go through the kernel's scratch
/// buffer. Trace fds map to the host-side process's fds; a trace fd that is not open is passed as
/// -1, which every call used here rejects with EBADF exactly as a closed fd.
/// </summary>
internal sealed partial class HostSyscalls : ISyscalls
{
    /// <summary>The bytes the executor's <c>fill</c> or <c>hash</c> moves per <c>process_vm_*</c>
    /// call (CHUNK_SIZE in kiov-exec.c).</summary>
    public const int ChunkSize = 1 << 20;

    private const int ClosedFd = -1;

    private readonly TraceFdTable<int> fds;
    private readonly IHostKernel kernel;
    private readonly bool ownsKernel;
    private readonly long pid;
    private bool disposed;

    /// <summary>Starts a host-side process (kiov-exec) with its arena reserved (docs/trace-format.md), in
    /// which writes to a pipe without readers return EPIPE instead of killing it.</summary>
    /// <exception cref="HostExecutorException">kiov-exec was not built or cannot start.</exception>
    public HostSyscalls()
        : this(new ExecutorHostKernel())
    {
    }

    /// <summary>The host back end over <paramref name="kernel"/>.</summary>
    /// <param name="kernel">The host-side process.</param>
    /// <param name="ownsKernel">Whether <see cref="Dispose"/> closes the trace's fds and disposes
    /// <paramref name="kernel"/>; when not, the owner resets it for the next trace.</param>
    internal HostSyscalls(IHostKernel kernel, bool ownsKernel = true)
    {
        this.kernel = kernel;
        this.ownsKernel = ownsKernel;
        fds = new();
        pid = kernel.Syscall(Getpid);
    }

    // The fd table is shared by the threads of a par line (HostSyscalls.Threads.cs): every use locks it.
    private int Real(int traceFd)
    {
        lock (fds) return fds.TryGet(traceFd, out int real) ? real : ClosedFd;
    }

    private long AddFd(long real)
    {
        if (real < 0) return real;
        lock (fds) return fds.Add((int)real);
    }

    // The iovec list in the scratch buffer at byte offset `at`, at most `room` bytes of it. A
    // list too long for the room is cut there; the kernel refuses any count above UIO_MAXIOV
    // (1024) before it reads the array, so the cut part is never read.
    private ulong PutIovecs(ReadOnlySpan<IoVec> iov, int at, int room)
    {
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(iov);
        kernel.WriteScratch(at, bytes[..Math.Min(bytes.Length, room)]);
        return kernel.ScratchAddress + (ulong)at;
    }

    private long Vector(long nr, int fd, ReadOnlySpan<IoVec> iov, long a3 = 0, long a4 = 0) =>
        kernel.Syscall(nr, Real(fd), (long)PutIovecs(iov, 0, kernel.ScratchSize), iov.Length, a3, a4);

    private long SelfVm(long nr, ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote)
    {
        int half = kernel.ScratchSize / 2;
        ulong l = PutIovecs(local, 0, half), r = PutIovecs(remote, half, half);
        return kernel.Syscall(nr, pid, (long)l, local.Length, (long)r, remote.Length, 0);
    }

    /// <inheritdoc/>
    public long Mmap(ulong addr, ulong len, int prot, int flags, int fd, long offset) =>
        kernel.Syscall(SyscallNumbers.Mmap, (long)addr, (long)len, prot, flags, Real(fd), offset);

    /// <inheritdoc/>
    public long Munmap(ulong addr, ulong len) => kernel.Syscall(SyscallNumbers.Munmap, (long)addr, (long)len);

    /// <inheritdoc/>
    public long Mprotect(ulong addr, ulong len, int prot) =>
        kernel.Syscall(SyscallNumbers.Mprotect, (long)addr, (long)len, prot);

    /// <inheritdoc/>
    public long Madvise(ulong addr, ulong len, int advice) =>
        kernel.Syscall(SyscallNumbers.Madvise, (long)addr, (long)len, advice);

    /// <inheritdoc/>
    public long Fill(ulong addr, ulong len, uint seed)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return kernel.Fill(addr, len, seed);
    }

    /// <inheritdoc/>
    public long Hash(ulong addr, ulong len, out ulong hash)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return kernel.Hash(addr, len, out hash);
    }

    /// <inheritdoc/>
    public long Pipe(out int readFd, out int writeFd)
    {
        readFd = writeFd = -1;
        long ret = kernel.Syscall(Pipe2, (long)kernel.ScratchAddress, OpenFlags.NonBlock);
        if (ret < 0)
            return ret;
        Span<int> pair = stackalloc int[2];
        kernel.ReadScratch(0, MemoryMarshal.AsBytes(pair));
        lock (fds)
        {
            readFd = fds.Add(pair[0]);
            writeFd = fds.Add(pair[1]);
        }
        return 0;
    }

    /// <inheritdoc/>
    public long Memfd()
    {
        kernel.WriteScratch(0, "kiov\0"u8);
        return AddFd(kernel.Syscall(MemfdCreate, (long)kernel.ScratchAddress, 0));
    }

    /// <inheritdoc/>
    public long Ftruncate(int fd, long len) => kernel.Syscall(SyscallNumbers.Ftruncate, Real(fd), len);

    /// <inheritdoc/>
    public long Close(int fd)
    {
        int real;
        lock (fds) real = fds.Remove(fd, out real) ? real : ClosedFd;
        return kernel.Syscall(SyscallNumbers.Close, real);
    }

    /// <inheritdoc/>
    public long Read(int fd, ulong addr, ulong len) =>
        kernel.Syscall(SyscallNumbers.Read, Real(fd), (long)addr, (long)len);

    /// <inheritdoc/>
    public long Write(int fd, ulong addr, ulong len) =>
        kernel.Syscall(SyscallNumbers.Write, Real(fd), (long)addr, (long)len);

    /// <inheritdoc/>
    public long Readv(int fd, ReadOnlySpan<IoVec> iov) => Vector(SyscallNumbers.Readv, fd, iov);

    /// <inheritdoc/>
    public long Writev(int fd, ReadOnlySpan<IoVec> iov) => Vector(SyscallNumbers.Writev, fd, iov);

    // The raw preadv/pwritev take the offset as two halves; on a 64-bit kernel the low one is all of it.
    /// <inheritdoc/>
    public long Preadv(int fd, ReadOnlySpan<IoVec> iov, long offset) => Vector(SyscallNumbers.Preadv, fd, iov, offset);

    /// <inheritdoc/>
    public long Pwritev(int fd, ReadOnlySpan<IoVec> iov, long offset) => Vector(SyscallNumbers.Pwritev, fd, iov, offset);

    /// <inheritdoc/>
    public long ProcessVmReadv(ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote) =>
        SelfVm(SyscallNumbers.ProcessVmReadv, local, remote);

    /// <inheritdoc/>
    public long ProcessVmWritev(ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote) =>
        SelfVm(SyscallNumbers.ProcessVmWritev, local, remote);

    /// <inheritdoc/>
    public long Vmsplice(int fd, ReadOnlySpan<IoVec> iov) => Vector(SyscallNumbers.Vmsplice, fd, iov, SpliceFlags.NonBlock);

    /// <inheritdoc/>
    public long Splice(int fdIn, long? offIn, int fdOut, long? offOut, ulong len)
    {
        Span<long> offsets = [offIn.GetValueOrDefault(), offOut.GetValueOrDefault()];
        kernel.WriteScratch(0, MemoryMarshal.AsBytes(offsets));
        long at = (long)kernel.ScratchAddress;
        return kernel.Syscall(SyscallNumbers.Splice, Real(fdIn), offIn.HasValue ? at : 0,
            Real(fdOut), offOut.HasValue ? at + 8 : 0, (long)len, SpliceFlags.NonBlock);
    }

    /// <summary>Closes every fd the trace left open and ends the host-side process; nothing when
    /// the kernel is not this back end's own.</summary>
    public void Dispose()
    {
        if (disposed)
            return;
        disposed = true;
        if (!ownsKernel)
            return;
        try
        {
            if (!exited)  // an exited process closed its fds itself
                foreach (int real in fds.Open().ToList())
                    kernel.Syscall(SyscallNumbers.Close, real);
        }
        catch (HostExecutorException)
        {
            // The host-side process is gone, and its fds with it; the error was reported when it was found.
        }
        finally
        {
            kernel.Dispose();
        }
    }
}
