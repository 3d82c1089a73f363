using System.Runtime.CompilerServices;

namespace Kiov.Mm;

/// <summary>
/// The bits of an x86-64 page-table entry (arch/x86/include/asm/pgtable_types.h). Entries are
/// 64-bit words inside page-table frames, read with <see cref="Volatile"/> and changed with
/// <see cref="Interlocked"/>, so lockless walkers always see a whole entry.
/// </summary>
public static class Pte
{
    /// <summary><c>_PAGE_PRESENT</c>.</summary>
    public const ulong Present = 1UL << 0;
    /// <summary><c>_PAGE_RW</c>: writable.</summary>
    public const ulong Write = 1UL << 1;
    /// <summary><c>_PAGE_USER</c>: reachable from user mode; supervisor-only without it.</summary>
    public const ulong User = 1UL << 2;
    /// <summary><c>_PAGE_ACCESSED</c>.</summary>
    public const ulong Accessed = 1UL << 5;
    /// <summary><c>_PAGE_DIRTY</c>.</summary>
    public const ulong Dirty = 1UL << 6;
    /// <summary><c>_PAGE_PSE</c>: a leaf at PMD (2 MiB) or PUD (1 GiB) level.</summary>
    public const ulong Huge = 1UL << 7;
    /// <summary><c>_PAGE_GLOBAL</c> on a present entry.</summary>
    public const ulong Global = 1UL << 8;
    /// <summary><c>_PAGE_PROTNONE</c>: the same bit as Global, meaningful when not present: a
    /// PROT_NONE mapping that still holds its page.</summary>
    public const ulong ProtNone = 1UL << 8;
    /// <summary><c>_PAGE_SPECIAL</c>: no <c>struct page</c> to take a reference on (VM_PFNMAP, VM_IO).</summary>
    public const ulong Special = 1UL << 9;
    /// <summary>A software bit (x86's bit 10 is free for the OS): the entry maps a page a read fault of
    /// anonymous memory gave, standing for the shared zero page. Like the zero page it is never
    /// written through this entry: the first write copies it (and the copy brings the anon_vma),
    /// so whoever took a reference to it (a vmsplice) keeps seeing zeros.</summary>
    public const ulong ZeroStandIn = 1UL << 10;
    /// <summary><c>_PAGE_NX</c>.</summary>
    public const ulong NoExec = 1UL << 63;
    /// <summary>The physical frame number field (bits 12 to 51).</summary>
    public const ulong PfnMask = 0x000f_ffff_ffff_f000;

    /// <summary>The bits of an upper-level entry that points at a user page table.</summary>
    public const ulong UserTable = Present | Write | User | Accessed;

    /// <summary>The frame an entry points at (<c>pte_pfn</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Pfn(ulong entry) => (int)((entry & PfnMask) >> 12);

    /// <summary>Builds an entry for frame <paramref name="pfn"/> with <paramref name="bits"/> (<c>pfn_pte</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Make(int pfn, ulong bits) => ((ulong)(uint)pfn << 12) | bits;

    /// <summary><c>pte_present</c>.</summary>
    public static bool IsPresent(ulong entry) => (entry & Present) != 0;

    /// <summary>True when the entry maps a page, present or PROT_NONE (what <c>zap_pte_range</c> releases).</summary>
    public static bool MapsPage(ulong entry) => (entry & (Present | ProtNone)) != 0;

    /// <summary>Reads the entry at <paramref name="p"/> atomically (<c>ptep_get_lockless</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe ulong Read(ulong* p) => Volatile.Read(ref *p);

    /// <summary>Replaces the entry at <paramref name="p"/> if it still holds <paramref name="expected"/>
    /// (the kernel's <c>pte_same</c> check under the PTE lock).</summary>
    public static unsafe bool CompareExchange(ulong* p, ulong value, ulong expected) =>
        Interlocked.CompareExchange(ref *p, value, expected) == expected;

    /// <summary>Clears the entry and returns what it held (<c>ptep_get_and_clear</c>).</summary>
    public static unsafe ulong Clear(ulong* p) => Interlocked.Exchange(ref *p, 0);

    /// <summary>
    /// Sets <paramref name="bits"/> in the entry if it still holds <paramref name="expected"/>, as the
    /// MMU's locked update of accessed and dirty does (it never sets them in an entry that is no
    /// longer present). False when the entry changed: look again. A plain OR would leave stray bits
    /// in an entry that was cleared meanwhile.
    /// </summary>
    public static unsafe bool TrySetBits(ulong* p, ulong expected, ulong bits) =>
        Interlocked.CompareExchange(ref *p, expected | bits, expected) == expected;
}
