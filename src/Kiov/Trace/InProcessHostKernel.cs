using Kiov.Iov;
using Kiov.Mm;
using System.Runtime.InteropServices;
using static Kiov.Trace.HostSyscallNumbers;

namespace Kiov.Trace;

/// <summary>
/// The host kernel reached from inside this very process through libc's <c>syscall()</c>. Unsafe
/// against hostile traces (a bad address reaches this process's own memory), so only for
/// measuring the cost of the out-of-process executor and for tests. It reserves the arena and
/// the guard page after it (TRACE.md) like the executor does, so only one may live in a process
/// at a time; a second one fails with an <see cref="InvalidOperationException"/>.
/// </summary>
internal sealed unsafe class InProcessHostKernel : IHostKernel
{
    private const int Size = 1 << 20;

    private byte* scratch;
    private readonly int pid;
    private bool guardMapped;

    /// <summary>Reserves the arena and its guard page, ignores SIGPIPE and allocates the scratch buffer.</summary>
    /// <exception cref="InvalidOperationException">Something already maps part of the arena.</exception>
    public InProcessHostKernel()
    {
        EnsureSupported();
        long arena = Syscall(Mmap, (long)TraceArena.Start, (long)TraceArena.Size, Prot.None,
            MapFlags.Private | MapFlags.Anonymous | MapFlags.FixedNoReplace, -1, 0);
        if (arena < 0)
            throw new InvalidOperationException(
                $"cannot reserve the trace arena [0x{TraceArena.Start:x}, 0x{TraceArena.End:x}): errno {-arena}" +
                (arena == -17 ? " (EEXIST: it is already mapped; is another host back end alive?)" : ""));
        if ((ulong)arena != TraceArena.Start)
        {
            Syscall(Munmap, arena, (long)TraceArena.Size);
            throw new InvalidOperationException("this kernel ignores MAP_FIXED_NOREPLACE: the trace arena cannot be reserved");
        }
        HostLibc.Signal(HostLibc.SigPipe, HostLibc.SigIgn);
        scratch = (byte*)NativeMemory.AlignedAlloc(Size, 4096);
        ReserveGuard();
        pid = (int)Syscall(Getpid);
    }

    // An empty memfd mapped shared and PROT_NONE right after the arena: no access, not even a
    // forced one, crosses it.
    private void ReserveGuard()
    {
        "kiov-guard\0"u8.CopyTo(new Span<byte>(scratch, Size));
        long memfd = Syscall(MemfdCreate, (long)scratch, 1 /* MFD_CLOEXEC */);
        long guard = memfd < 0 ? memfd : Syscall(Mmap, (long)TraceArena.End, (long)TraceArena.GuardSize, Prot.None,
            MapFlags.Shared | MapFlags.FixedNoReplace, memfd, 0);
        if (memfd >= 0)
            Syscall(Close, memfd);
        guardMapped = guard >= 0;
        if (!guardMapped)
        {
            Dispose();
            throw new InvalidOperationException($"cannot map the guard page after the trace arena: errno {-guard}");
        }
    }

    /// <inheritdoc/>
    public long Syscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
    {
        long ret = HostLibc.Syscall(nr, a0, a1, a2, a3, a4, a5);
        return ret == -1 ? -Marshal.GetLastPInvokeError() : ret;
    }

    /// <inheritdoc/>
    public ulong ScratchAddress => (ulong)scratch;

    /// <inheritdoc/>
    public int ScratchSize => Size;

    /// <inheritdoc/>
    public void WriteScratch(int offset, ReadOnlySpan<byte> bytes) =>
        bytes.CopyTo(new Span<byte>(scratch, Size)[offset..]);

    /// <inheritdoc/>
    public void ReadScratch(int offset, Span<byte> bytes) =>
        new ReadOnlySpan<byte>(scratch, Size).Slice(offset, bytes.Length).CopyTo(bytes);

    /// <inheritdoc/>
    public long Fill(ulong addr, ulong len, uint seed)
    {
        ObjectDisposedException.ThrowIf(scratch == null, this);
        var buffer = new ScratchChunk(this);
        return SelfCopy.Fill(ref buffer, addr, len, seed);
    }

    /// <inheritdoc/>
    public long Hash(ulong addr, ulong len, out ulong hash)
    {
        ObjectDisposedException.ThrowIf(scratch == null, this);
        var buffer = new ScratchChunk(this);
        return SelfCopy.Hash(ref buffer, addr, len, out hash);
    }

    // The scratch buffer, moved by real process_vm_{readv,writev} calls on this process.
    private readonly struct ScratchChunk(InProcessHostKernel kernel) : ISelfCopyBuffer
    {
        public int ChunkSize => Size;

        public void Generate(uint seed, ulong offset, int n) =>
            FillPattern.Generate(seed, offset, new Span<byte>(kernel.scratch, n));

        public long Copy(ulong remote, int n, bool write)
        {
            IoVec local = new((ulong)kernel.scratch, (ulong)n);
            IoVec far = new(remote, (ulong)n);
            return kernel.Syscall(write ? ProcessVmWritev : ProcessVmReadv, kernel.pid, (long)&local, 1, (long)&far, 1, 0);
        }

        public ulong Hash(ulong hash, int n) => Fnv1a64.Append(hash, new ReadOnlySpan<byte>(kernel.scratch, n));
    }

    /// <summary>Unmaps the arena and its guard page and frees the scratch buffer.</summary>
    public void Dispose()
    {
        if (scratch == null)
            return;
        Syscall(Munmap, (long)TraceArena.Start, (long)(TraceArena.Size + (guardMapped ? TraceArena.GuardSize : 0)));
        NativeMemory.AlignedFree(scratch);
        scratch = null;
    }
}
