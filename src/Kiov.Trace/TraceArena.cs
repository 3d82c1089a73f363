using Kiov.Iov;

namespace Kiov.Trace;

/// <summary>
/// The arena (docs/trace-format.md): the 1 GiB of address space every <c>mmap</c> of a trace lies in. A host
/// runner reserves it whole (PROT_NONE, MAP_FIXED_NOREPLACE) before the first line, with a
/// PROT_NONE guard page after it, so until a trace unmaps part of it the arena is one PROT_NONE
/// private anonymous mapping, not a hole. This class also holds the one rule (docs/trace-format.md version 2,
/// "The arena") that keeps a trace out of its runner's own memory, which the trace reader applies
/// to every address a line names, so every back end refuses the same lines.
/// </summary>
internal static class TraceArena
{
    /// <summary>The first address of the arena.</summary>
    public const ulong Start = 0x1000_0000_0000;

    /// <summary>The size of the arena: 1 GiB.</summary>
    public const ulong Size = 0x4000_0000;

    /// <summary>The first address after the arena.</summary>
    public const ulong End = Start + Size;

    /// <summary>The size of the guard page a host runner maps right after the arena (docs/trace-format.md
    /// version 2: an empty memfd, shared and PROT_NONE).</summary>
    public const ulong GuardSize = 0x1000;

    /// <summary>The end of the low range no runner can have mapped: <c>mmap_min_addr</c>'s usual
    /// value, below which the kernel maps nothing for an unprivileged process.</summary>
    public const ulong LowNeverMappedEnd = 0x10000;

    /// <summary>The start of the high range no runner can have mapped: x86-64's <c>TASK_SIZE</c>
    /// (the last user page is never mapped), then non-canonical and kernel addresses.</summary>
    public const ulong HighNeverMappedStart = 0x7fff_ffff_f000;

    /// <summary>Whether [<paramref name="addr"/>, <paramref name="addr"/> + <paramref name="len"/>)
    /// lies inside the arena. An empty range counts when <paramref name="addr"/> is in
    /// [<see cref="Start"/>, <see cref="End"/>], so that <c>mmap</c> of length 0 reaches the
    /// kernel (and gets its EINVAL). Page rounding of <paramref name="len"/> cannot leave the arena,
    /// since <see cref="End"/> is page aligned.</summary>
    public static bool Contains(ulong addr, ulong len) =>
        addr >= Start && addr <= End && len <= End - addr;

    /// <summary>Whether a copy (a read or write of user memory: <c>fill</c>, <c>hash</c>,
    /// <c>read</c>, an iovec segment, a <c>process_vm_*</c> range) may start at
    /// <paramref name="addr"/>: inside the arena, or where no runner can have anything mapped. A
    /// copy stops at the first page it cannot reach, and the guard page after the arena stops it
    /// there, so only the start matters.</summary>
    public static bool MayCopyAt(ulong addr) =>
        addr is >= Start and < End || addr < LowNeverMappedEnd || addr >= HighNeverMappedStart;

    /// <summary>Whether an op that acts on a range of mappings (<c>munmap</c>, <c>mprotect</c>,
    /// <c>madvise</c>, <c>mremap</c>'s ranges, <c>mlock</c>, <c>munlock</c>, <c>msync</c>,
    /// <c>mincore</c>) may name [<paramref name="addr"/>, <paramref name="addr"/> +
    /// <paramref name="len"/>): the whole range inside the arena or inside one never-mapped
    /// range, or a range that wraps past 2^64, which the kernel refuses before it looks at any
    /// mapping. Page rounding keeps an allowed range allowed: the arena's and the never-mapped
    /// ranges' bounds are page aligned.</summary>
    public static bool MayActOn(ulong addr, ulong len) =>
        len > ulong.MaxValue - addr
        || Contains(addr, len)
        || len <= LowNeverMappedEnd && addr <= LowNeverMappedEnd - len
        || addr >= HighNeverMappedStart;

    private static string Allowed =>
        $"a trace may name only the arena [0x{Start:x}, 0x{End:x}) and addresses no runner can have mapped " +
        $"(below 0x{LowNeverMappedEnd:x}, or 0x{HighNeverMappedStart:x} and above)";

    /// <summary>The address field <paramref name="name"/>, where a copy starts.</summary>
    /// <exception cref="TraceException">It is an address <see cref="MayCopyAt"/> refuses.</exception>
    internal static ulong CopyAddress(this TraceFields f, string name)
    {
        ulong addr = f.U64(name);
        return MayCopyAt(addr) ? addr : throw f.Error($"\"{name}\" 0x{addr:x} is outside the arena: {Allowed}");
    }

    /// <summary>The iovec list field <paramref name="name"/>, each segment's base a place a copy
    /// may start.</summary>
    /// <exception cref="TraceException">A segment starts where <see cref="MayCopyAt"/> refuses.</exception>
    internal static IoVec[] CopyIoVecs(this TraceFields f, string name)
    {
        IoVec[] iov = f.IoVecs(name);
        for (int i = 0; i < iov.Length; i++)
        {
            if (!MayCopyAt(iov[i].Base))
                throw f.Error($"\"{name}\" segment {i} starts at 0x{iov[i].Base:x}, outside the arena: {Allowed}");
        }
        return iov;
    }

    /// <summary>The address field <paramref name="addrName"/> of a range whose length is the
    /// field <paramref name="lenName"/>, for an op that acts on mappings.</summary>
    /// <exception cref="TraceException">The range is one <see cref="MayActOn"/> refuses.</exception>
    internal static ulong RangeAddress(this TraceFields f, string addrName, string lenName)
    {
        ulong addr = f.U64(addrName), len = f.U64(lenName);
        return MayActOn(addr, len)
            ? addr
            : throw f.Error($"[\"{addrName}\" 0x{addr:x}, +\"{lenName}\" 0x{len:x}) reaches outside the arena: {Allowed}; " +
                "a range must lie wholly in one of them");
    }
}
