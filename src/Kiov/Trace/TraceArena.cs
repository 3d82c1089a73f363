namespace Kiov.Trace;

/// <summary>
/// The arena (TRACE.md): the 1 GiB of address space every <c>mmap</c> of a trace lies in. A host
/// runner reserves it whole (PROT_NONE, MAP_FIXED_NOREPLACE) before the first line, so until a
/// trace unmaps part of it the arena is one PROT_NONE private anonymous mapping, not a hole.
/// </summary>
public static class TraceArena
{
    /// <summary>The first address of the arena.</summary>
    public const ulong Start = 0x1000_0000_0000;

    /// <summary>The size of the arena: 1 GiB.</summary>
    public const ulong Size = 0x4000_0000;

    /// <summary>The first address after the arena.</summary>
    public const ulong End = Start + Size;

    /// <summary>The size of the guard page a host runner maps right after the arena (TRACE.md
    /// version 2: an empty memfd, shared and PROT_NONE).</summary>
    public const ulong GuardSize = 0x1000;

    /// <summary>Whether [<paramref name="addr"/>, <paramref name="addr"/> + <paramref name="len"/>)
    /// lies inside the arena. An empty range counts when <paramref name="addr"/> is in
    /// [<see cref="Start"/>, <see cref="End"/>], so that <c>mmap</c> of length 0 reaches the
    /// kernel (and gets its EINVAL). Page rounding of <paramref name="len"/> cannot leave the arena,
    /// since <see cref="End"/> is page aligned.</summary>
    public static bool Contains(ulong addr, ulong len) =>
        addr >= Start && addr <= End && len <= End - addr;
}
