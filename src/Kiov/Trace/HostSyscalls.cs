using Kiov.Mm;
using Kiov.Iov;
using System.Runtime.InteropServices;
using static Kiov.Trace.HostLibc;

namespace Kiov.Trace;

/// <summary>
/// The host back end of <see cref="ISyscalls"/>: the running Linux kernel, called through libc
/// in this very process. The constructor reserves the arena (TRACE.md) with PROT_NONE and
/// MAP_FIXED_NOREPLACE, so only one instance may live in a process at a time; a second one fails
/// with an <see cref="InvalidOperationException"/>. Trace addresses go to the kernel as they are
/// and are never dereferenced here. Trace fds map to real fds; a trace fd that is not open is
/// passed as -1, which every call used here rejects with EBADF exactly as a closed fd.
/// </summary>
public sealed unsafe class HostSyscalls : ISyscalls
{
    /// <summary>The bytes a <c>fill</c> or <c>hash</c> moves per <c>process_vm_*</c> call.</summary>
    public const int ChunkSize = 1 << 20;

    private const int ClosedFd = -1;

    private readonly TraceFdTable<int> fds = new();
    private readonly int pid = Getpid();
    private byte* chunk;
    private bool disposed;

    /// <summary>Reserves the arena and makes writes to a pipe without readers return EPIPE
    /// instead of killing the process.</summary>
    /// <exception cref="InvalidOperationException">The arena cannot be reserved: something
    /// (another <see cref="HostSyscalls"/>?) already maps part of it.</exception>
    public HostSyscalls()
    {
        nint arena = HostLibc.Mmap(unchecked((nint)TraceArena.Start), (nuint)TraceArena.Size, Prot.None,
            MapFlags.Private | MapFlags.Anonymous | MapFlags.FixedNoReplace, -1, 0);
        if (arena == MapFailed)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException(
                $"cannot reserve the trace arena [0x{TraceArena.Start:x}, 0x{TraceArena.End:x}): errno {errno}" +
                (errno == 17 ? " (EEXIST: it is already mapped; is another host back end alive?)" : ""));
        }
        if ((ulong)arena != TraceArena.Start)
        {
            HostLibc.Munmap(arena, (nuint)TraceArena.Size);
            throw new InvalidOperationException("this kernel ignores MAP_FIXED_NOREPLACE: the trace arena cannot be reserved");
        }
        Signal(SigPipe, SigIgn);
        chunk = (byte*)NativeMemory.AlignedAlloc(ChunkSize, 4096);
    }

    private int Real(int traceFd) => fds.TryGet(traceFd, out int real) ? real : ClosedFd;

    private long AddFd(int real) => real < 0 ? -Marshal.GetLastPInvokeError() : fds.Add(real);

    /// <inheritdoc/>
    public long Mmap(ulong addr, ulong len, int prot, int flags, int fd, long offset)
    {
        nint ret = HostLibc.Mmap((nint)addr, (nuint)len, prot, flags, Real(fd), offset);
        return ret == MapFailed ? -Marshal.GetLastPInvokeError() : ret;
    }

    /// <inheritdoc/>
    public long Munmap(ulong addr, ulong len) => Result(HostLibc.Munmap((nint)addr, (nuint)len));

    /// <inheritdoc/>
    public long Mprotect(ulong addr, ulong len, int prot) => Result(HostLibc.Mprotect((nint)addr, (nuint)len, prot));

    /// <inheritdoc/>
    public long Madvise(ulong addr, ulong len, int advice) => Result(HostLibc.Madvise((nint)addr, (nuint)len, advice));

    /// <inheritdoc/>
    public long Fill(ulong addr, ulong len, uint seed)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var buffer = new HostChunk(chunk, pid);
        lock (fds) return SelfCopy.Fill(ref buffer, addr, len, seed); // one chunk: a par line's threads take turns
    }

    /// <inheritdoc/>
    public long Hash(ulong addr, ulong len, out ulong hash)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var buffer = new HostChunk(chunk, pid);
        lock (fds) return SelfCopy.Hash(ref buffer, addr, len, out hash);
    }

    // The runner's own native buffer, moved by real process_vm_{readv,writev} calls on itself.
    private readonly struct HostChunk(byte* chunk, int pid) : ISelfCopyBuffer
    {
        public int ChunkSize => HostSyscalls.ChunkSize;

        public void Generate(uint seed, ulong offset, int n) => FillPattern.Generate(seed, offset, new Span<byte>(chunk, n));

        public long Copy(ulong remote, int n, bool write)
        {
            IoVec local = new((ulong)chunk, (ulong)n);
            IoVec far = new(remote, (ulong)n);
            return Result(write
                ? HostLibc.ProcessVmWritev(pid, &local, 1, &far, 1, 0)
                : HostLibc.ProcessVmReadv(pid, &local, 1, &far, 1, 0));
        }

        public ulong Hash(ulong hash, int n) => Fnv1a64.Append(hash, new ReadOnlySpan<byte>(chunk, n));
    }

    /// <inheritdoc/>
    public long Pipe(out int readFd, out int writeFd)
    {
        int* pair = stackalloc int[2];
        readFd = writeFd = -1;
        if (Pipe2(pair, ONonblock) < 0)
            return -Marshal.GetLastPInvokeError();
        readFd = fds.Add(pair[0]);
        writeFd = fds.Add(pair[1]);
        return 0;
    }

    /// <inheritdoc/>
    public long Memfd() => AddFd(MemfdCreate("kiov", 0));

    /// <inheritdoc/>
    public long Ftruncate(int fd, long len) => Result(HostLibc.Ftruncate(Real(fd), len));

    /// <inheritdoc/>
    public long Close(int fd) =>
        Result(HostLibc.Close(fds.Remove(fd, out int real) ? real : ClosedFd));

    /// <inheritdoc/>
    public long Read(int fd, ulong addr, ulong len) => Result(HostLibc.Read(Real(fd), (nint)addr, (nuint)len));

    /// <inheritdoc/>
    public long Write(int fd, ulong addr, ulong len) => Result(HostLibc.Write(Real(fd), (nint)addr, (nuint)len));

    /// <inheritdoc/>
    public long Readv(int fd, ReadOnlySpan<IoVec> iov)
    {
        fixed (IoVec* p = iov)
            return Result(HostLibc.Readv(Real(fd), p, iov.Length));
    }

    /// <inheritdoc/>
    public long Writev(int fd, ReadOnlySpan<IoVec> iov)
    {
        fixed (IoVec* p = iov)
            return Result(HostLibc.Writev(Real(fd), p, iov.Length));
    }

    /// <inheritdoc/>
    public long Preadv(int fd, ReadOnlySpan<IoVec> iov, long offset)
    {
        fixed (IoVec* p = iov)
            return Result(HostLibc.Preadv(Real(fd), p, iov.Length, offset));
    }

    /// <inheritdoc/>
    public long Pwritev(int fd, ReadOnlySpan<IoVec> iov, long offset)
    {
        fixed (IoVec* p = iov)
            return Result(HostLibc.Pwritev(Real(fd), p, iov.Length, offset));
    }

    /// <inheritdoc/>
    public long ProcessVmReadv(ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote)
    {
        fixed (IoVec* l = local)
        fixed (IoVec* r = remote)
            return Result(HostLibc.ProcessVmReadv(pid, l, (nuint)local.Length, r, (nuint)remote.Length, 0));
    }

    /// <inheritdoc/>
    public long ProcessVmWritev(ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote)
    {
        fixed (IoVec* l = local)
        fixed (IoVec* r = remote)
            return Result(HostLibc.ProcessVmWritev(pid, l, (nuint)local.Length, r, (nuint)remote.Length, 0));
    }

    /// <inheritdoc/>
    public long Vmsplice(int fd, ReadOnlySpan<IoVec> iov)
    {
        fixed (IoVec* p = iov)
            return Result(HostLibc.Vmsplice(Real(fd), p, (nuint)iov.Length, SpliceNonblock));
    }

    /// <inheritdoc/>
    public long Splice(int fdIn, long? offIn, int fdOut, long? offOut, ulong len)
    {
        long inValue = offIn.GetValueOrDefault(), outValue = offOut.GetValueOrDefault();
        return Result(HostLibc.Splice(Real(fdIn), offIn.HasValue ? &inValue : null,
            Real(fdOut), offOut.HasValue ? &outValue : null, (nuint)len, SpliceNonblock));
    }

    /// <summary>Closes every fd the trace left open, unmaps the whole arena and frees the buffer.</summary>
    public void Dispose()
    {
        if (disposed)
            return;
        disposed = true;
        foreach (int real in fds.Open().ToList())
            HostLibc.Close(real);
        HostLibc.Munmap(unchecked((nint)TraceArena.Start), (nuint)TraceArena.Size);
        NativeMemory.AlignedFree(chunk);
        chunk = null;
    }
}
