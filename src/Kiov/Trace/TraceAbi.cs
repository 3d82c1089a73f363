namespace Kiov.Trace;

/// <summary>The Linux values (x86-64 and asm-generic) that trace words stand for.</summary>
public static class TraceAbi
{
    /// <summary><c>PROT_NONE</c>: no access.</summary>
    public const int ProtNone = 0;
    /// <summary><c>PROT_READ</c>, trace letter <c>r</c>.</summary>
    public const int ProtRead = 1;
    /// <summary><c>PROT_WRITE</c>, trace letter <c>w</c>.</summary>
    public const int ProtWrite = 2;
    /// <summary><c>PROT_EXEC</c>, trace letter <c>x</c>.</summary>
    public const int ProtExec = 4;

    /// <summary><c>MAP_SHARED</c>, trace word <c>"shared"</c>.</summary>
    public const int MapShared = 0x01;
    /// <summary><c>MAP_PRIVATE</c>, trace word <c>"private"</c>.</summary>
    public const int MapPrivate = 0x02;
    /// <summary><c>MAP_FIXED</c>, trace word <c>"fixed"</c>.</summary>
    public const int MapFixed = 0x10;
    /// <summary><c>MAP_ANONYMOUS</c>, trace word <c>"anonymous"</c>.</summary>
    public const int MapAnonymous = 0x20;
    /// <summary><c>MAP_FIXED_NOREPLACE</c>: what a host runner reserves the arena with.</summary>
    public const int MapFixedNoReplace = 0x100000;

    /// <summary><c>MADV_DONTNEED</c>, trace word <c>"dontneed"</c>.</summary>
    public const int MadvDontneed = 4;

    /// <summary><c>MAX_RW_COUNT</c> (<c>INT_MAX &amp; PAGE_MASK</c>): the most one read, write or
    /// iovec import moves; longer requests are clamped to it.</summary>
    public const ulong MaxRwCount = 0x7ffff000;

    /// <summary><c>UIO_MAXIOV</c>: the most iovecs one call accepts.</summary>
    public const int UioMaxIov = 1024;
}
