namespace Kiov.Trace;

/// <summary><c>mmap(addr, len, prot, flags, fd, offset)</c>; for an anonymous mapping without
/// <c>fd</c> and <c>offset</c> the reader passes -1 and 0.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address (always MAP_FIXED, inside the arena).</param>
/// <param name="Len">The length.</param>
/// <param name="Prot">PROT_* bits.</param>
/// <param name="Flags">MAP_* bits.</param>
/// <param name="Fd">The trace fd, or -1.</param>
/// <param name="Offset">The file offset.</param>
public sealed record MmapOp(int Line, ulong Addr, ulong Len, int Prot, int Flags, int Fd, long Offset) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Mmap(Addr, Len, Prot, Flags, Fd, Offset));
}

/// <summary><c>munmap(addr, len)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
public sealed record MunmapOp(int Line, ulong Addr, ulong Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Munmap(Addr, Len));
}

/// <summary><c>mprotect(addr, len, prot)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
/// <param name="Prot">PROT_* bits.</param>
public sealed record MprotectOp(int Line, ulong Addr, ulong Len, int Prot) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Mprotect(Addr, Len, Prot));
}

/// <summary><c>madvise(addr, len, advice)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
/// <param name="Advice">The MADV_* value.</param>
public sealed record MadviseOp(int Line, ulong Addr, ulong Len, int Advice) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Madvise(Addr, Len, Advice));
}

/// <summary>The trace's <c>fill</c>: the fill pattern of <paramref name="Seed"/> written as
/// <c>process_vm_writev(self, …)</c> would.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
/// <param name="Seed">The pattern's seed.</param>
public sealed record FillOp(int Line, ulong Addr, ulong Len, uint Seed) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Fill(Addr, Len, Seed));
}

/// <summary>The trace's <c>hash</c>: memory read as <c>process_vm_readv(self, …)</c> would, and
/// the FNV-1a 64 of the bytes read.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
public sealed record HashOp(int Line, ulong Addr, ulong Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys)
    {
        long ret = sys.Hash(Addr, Len, out ulong hash);
        return new(ret, Hash: hash);
    }
}
