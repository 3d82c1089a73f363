namespace Kiov.Trace;

/// <summary>
/// The host kernel as the host back end (<see cref="HostSyscalls"/>) reaches it: raw system calls
/// made in the host-side process, which holds the trace arena and the trace's real fds. Nothing
/// here interprets a trace: addresses and fds are the host-side process's own, and every result is
/// what the kernel returned, a value or <c>-errno</c>. Memory the kernel reads or writes beside the
/// trace's own (iovec arrays, fd pairs, offsets, mincore vectors, file names) goes in the scratch
/// buffer, which lies outside the arena in the host-side process.
/// </summary>
internal interface IHostKernel : IDisposable
{
    /// <summary><c>syscall(nr, a0..a5)</c> in the host-side process, with the numbers of
    /// <see cref="Abi.SyscallNumbers"/>.</summary>
    /// <returns>The return value, or <c>-errno</c>.</returns>
    long Syscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0);

    /// <summary>Address in the host-side process of a scratch buffer outside the arena
    /// (<see cref="ScratchSize"/> bytes, at least 1 MiB) for what the kernel reads or writes beside
    /// trace memory: iovec arrays, fd pairs, offsets, mincore vectors.</summary>
    ulong ScratchAddress { get; }

    /// <summary>The size of the scratch buffer in bytes: at least 1 MiB.</summary>
    int ScratchSize { get; }

    /// <summary>Copies <paramref name="bytes"/> into the scratch buffer at <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The bytes do not fit in the buffer.</exception>
    void WriteScratch(int offset, ReadOnlySpan<byte> bytes);

    /// <summary>Copies bytes out of the scratch buffer from <paramref name="offset"/> into
    /// <paramref name="bytes"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range does not lie in the buffer.</exception>
    void ReadScratch(int offset, Span<byte> bytes);

    /// <summary>The trace's <c>fill</c> (docs/trace-format.md), done inside the host-side process on its own
    /// memory: what <c>process_vm_writev(self, [pattern], [[addr, len]], 0)</c> returns.</summary>
    long Fill(ulong addr, ulong len, uint seed);

    /// <summary>The trace's <c>hash</c> (docs/trace-format.md), done inside the host-side process on its own
    /// memory: what <c>process_vm_readv(self, [buf], [[addr, len]], 0)</c> returns, with the
    /// FNV-1a 64 of the bytes read in <paramref name="hash"/>.</summary>
    long Hash(ulong addr, ulong len, out ulong hash);
}
