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
internal sealed record MmapOp(int Line, ulong Addr, ulong Len, int Prot, int Flags, int Fd, long Offset) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Mmap(Addr, Len, Prot, Flags, Fd, Offset));
}

/// <summary><c>munmap(addr, len)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
internal sealed record MunmapOp(int Line, ulong Addr, ulong Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Munmap(Addr, Len));
}

/// <summary><c>mprotect(addr, len, prot)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
/// <param name="Prot">PROT_* bits.</param>
internal sealed record MprotectOp(int Line, ulong Addr, ulong Len, int Prot) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Mprotect(Addr, Len, Prot));
}

/// <summary><c>madvise(addr, len, advice)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
/// <param name="Advice">The MADV_* value.</param>
internal sealed record MadviseOp(int Line, ulong Addr, ulong Len, int Advice) : TraceOp(Line)
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
internal sealed record FillOp(int Line, ulong Addr, ulong Len, uint Seed) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Fill(Addr, Len, Seed));
}

/// <summary>The trace's <c>hash</c>: memory read as <c>process_vm_readv(self, …)</c> would, and
/// the FNV-1a 64 of the bytes read.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
internal sealed record HashOp(int Line, ulong Addr, ulong Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys)
    {
        long ret = sys.Hash(Addr, Len, out ulong hash);
        return new(ret, Hash: hash);
    }
}

/// <summary>The trace's <c>poke</c>: 64-bit little-endian words written as <c>fill</c> writes.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Bytes">The words' bytes.</param>
internal sealed record PokeOp(int Line, ulong Addr, byte[] Bytes) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Poke(Addr, Bytes));
}

/// <summary><c>mremap(addr, old_len, new_len, flags, new_addr)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The old address.</param>
/// <param name="OldLen">The old length.</param>
/// <param name="NewLen">The new length.</param>
/// <param name="Flags">MREMAP_* flags.</param>
/// <param name="NewAddr">The new address (0 when not given).</param>
internal sealed record MremapOp(int Line, ulong Addr, ulong OldLen, ulong NewLen, int Flags, ulong NewAddr) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Mremap(Addr, OldLen, NewLen, Flags, NewAddr));
}

/// <summary><c>mlock(addr, len)</c>, or <c>munlock</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
/// <param name="Lock">True for mlock, false for munlock.</param>
internal sealed record MlockOp(int Line, ulong Addr, ulong Len, bool Lock) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(Lock ? sys.Mlock(Addr, Len) : sys.Munlock(Addr, Len));
}

/// <summary><c>msync(addr, len, flags)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
/// <param name="Flags">MS_* flags.</param>
internal sealed record MsyncOp(int Line, ulong Addr, ulong Len, int Flags) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Msync(Addr, Len, Flags));
}

/// <summary><c>mincore(addr, len, vec)</c> with the runner's own vector; a 0 result prints it.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The address.</param>
/// <param name="Len">The length.</param>
internal sealed record MincoreOp(int Line, ulong Addr, ulong Len) : TraceOp(Line)
{
    /// <summary>The most pages a mincore vector may cover: the arena's (a valid range lies in the
    /// arena, or fails before the vector is written).</summary>
    public const int MaxPages = (int)(TraceArena.Size >> 12);

    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys)
    {
        ulong pages = (Len >> 12) + ((Len & 4095) != 0 ? 1UL : 0);
        var vec = new byte[Math.Min(pages, (ulong)MaxPages + 1)];
        long ret = sys.Mincore(Addr, Len, vec);
        if (ret != 0) return new(ret);
        var s = new char[vec.Length];
        for (int i = 0; i < vec.Length; i++) s[i] = (vec[i] & 1) != 0 ? '1' : '0';
        return new(ret, Vec: new string(s));
    }
}
