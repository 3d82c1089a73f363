namespace Kiov;

/// <summary>How a write fault on a write-protected private anonymous page decides between reusing
/// the page and copying it (<c>do_wp_page</c>), by era.</summary>
public enum AnonReuseRule
{
    /// <summary>Before 5.8: reuse when the page is mapped once (<c>reuse_swap_page</c> looked at the
    /// map count), even if a pipe or a GUP reference still holds it: CVE-2020-29374.</summary>
    MapCount,
    /// <summary>5.8 to 5.18 (09854ba94c6a): reuse only when the reference count says the mapping is
    /// the sole owner; any extra reference forces a copy.</summary>
    RefCount,
    /// <summary>5.19 on (PageAnonExclusive): reuse an exclusive page at once; a shared one only when
    /// the reference count says sole owner (<c>wp_can_reuse_anon_folio</c>), which marks it exclusive.
    /// Read pins of a shared page unshare it first (FOLL_UNSHARE).</summary>
    Exclusive,
}

/// <summary>How a FOLL_FORCE write to a private mapping the process may not write follows the page
/// once the fault broke copy-on-write (<c>faultin_page</c> and <c>can_follow_write_pte</c>).</summary>
public enum ForcedWriteRule
{
    /// <summary>Before 4.9: the fault drops FOLL_WRITE and the next look takes whatever is mapped,
    /// so a racing madvise(DONTNEED) lets the write reach the file's page: Dirty COW, CVE-2016-5195.</summary>
    DropWrite,
    /// <summary>4.9 to 6.1 (19be0eaffa3a): the fault sets FOLL_COW, and a read-only entry satisfies the
    /// write only if it is dirty, which only the copy-on-write copy is.</summary>
    FollCow,
    /// <summary>6.2 on (5535be309971): a read-only entry satisfies the write only if it maps an
    /// exclusive anonymous page.</summary>
    AnonExclusive,
}

public sealed partial record KernelConfig
{
    /// <summary>The <c>do_wp_page</c> reuse rule in force; <see cref="AnonReuseRule.Exclusive"/> today.</summary>
    public AnonReuseRule AnonReuse { get; init; } = AnonReuseRule.Exclusive;

    /// <summary>The FOLL_FORCE copy-on-write rule in force; <see cref="ForcedWriteRule.AnonExclusive"/> today.</summary>
    public ForcedWriteRule ForcedWrite { get; init; } = ForcedWriteRule.AnonExclusive;

    /// <summary>True since 5.9 (70e806e4e645): fork copies, for the child, an anonymous page that may
    /// be DMA-pinned in an address space that ever pinned (<c>copy_present_page</c>), instead of
    /// sharing it copy-on-write; the parent keeps the pinned page, still writable.</summary>
    public bool ForkCopiesPinned { get; init; } = true;

    /// <summary>
    /// The shared zero page: when true, a read fault of private anonymous memory maps
    /// <c>ZERO_PAGE</c> (a special entry: GUP-fast refuses it, the slow path returns it without a
    /// pin) and a later write replaces it. False by default, as the reference machine's kernel
    /// behaves (booted with <c>pvm_no_zero_page=1</c>: a vmsplice of untouched anonymous memory
    /// followed by a write shows the written bytes).
    /// </summary>
    public bool SharedZeroPage { get; init; }

    /// <summary>Linux 4.8, before the Dirty COW fix (Oct 2016): FOLL_FORCE drops FOLL_WRITE after the fault.</summary>
    public static KernelConfig Linux4_8 => s_linux4_8 ??= Linux2017 with
    {
        Name = "4.8",
        ForcedWrite = ForcedWriteRule.DropWrite,
    };
    private static KernelConfig? s_linux4_8, s_linux5_18, s_linux5_7; // lazily: static order across partial files is unspecified

    /// <summary>Linux 5.8 to 5.18 alone, for the fork stories: copy-on-write decided by reference
    /// counts, FOLL_COW, pinned pages copied at fork; everything else as today.</summary>
    public static KernelConfig Linux5_18 => s_linux5_18 ??= new()
    {
        Name = "5.18",
        AnonReuse = AnonReuseRule.RefCount,
        ForcedWrite = ForcedWriteRule.FollCow,
    };

    /// <summary>Linux 5.7 alone, for the fork stories: reuse by map count (the vmsplice-after-fork
    /// leak), FOLL_COW, no copy of pinned pages at fork; everything else as today.</summary>
    public static KernelConfig Linux5_7 => s_linux5_7 ??= Linux5_18 with
    {
        Name = "5.7",
        AnonReuse = AnonReuseRule.MapCount,
        ForkCopiesPinned = false,
    };
}
