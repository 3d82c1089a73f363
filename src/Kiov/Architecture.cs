namespace Kiov;

/// <summary>
/// How an architecture lays out kernel and user page tables, which decides what a GUP-fast walk
/// of a kernel address finds. The model always builds x86-64-shaped four-level tables; an
/// architecture changes which root a kernel address is looked up in and what the walk checks.
/// </summary>
public enum Architecture
{
    /// <summary>
    /// x86-64: one table per process, the kernel half of every PGD copied from <c>init_mm</c>
    /// (<c>pgd_alloc</c>), the direct map in 2 MiB supervisor-only leaves. Every GUP-fast of every
    /// era checks <c>_PAGE_USER</c> (v4.10 arch/x86/mm/gup.c <c>pte_allows_gup</c>; from 4.13 the
    /// generic walk's <c>pte_access_permitted</c>), and sends an end above the user VA limit to the
    /// slow path (<c>end &gt;&gt; __VIRTUAL_MASK_SHIFT</c>): a kernel address never reaches a kernel page.
    /// </summary>
    X86_64,

    /// <summary>
    /// arm64-like generic GUP (HAVE_GENERIC_RCU_GUP) with a separate kernel root (TTBR1): user tables
    /// hold no kernel entries, and <c>pgd_offset(current-&gt;mm, addr)</c> keeps only the index bits,
    /// so a kernel address walked through the user's tables lands on the user address with the same
    /// index bits: <c>addr</c> modulo the user root's span (2^VA_BITS on arm64; the model's user root
    /// spans 2^47). The danger is a wrong USER page, not a kernel page.
    /// </summary>
    Arm64,

    /// <summary>
    /// 32-bit ARM with LPAE, the exposed one in 2017: generic GUP (<c>HAVE_GENERIC_RCU_GUP depends on
    /// ARM_LPAE</c>, arch/arm/Kconfig, 2014), the kernel's entries copied into every process's table,
    /// lowmem mapped by 2 MiB section (block) entries that <c>pmd_trans_huge</c> takes for huge pages
    /// (<c>pmd_val &amp;&amp; !pmd_table</c>), and a 4.10 generic walk that checks neither the range (only
    /// <c>access_ok</c>, void under KERNEL_DS) nor a user bit. <c>gup_huge_pmd</c> then adds all the
    /// references to the block's first page (<c>page_cache_add_speculative(head, refs)</c>) and hands
    /// back the pages inside it, whose later <c>put_page</c> drops references they never got.
    /// The model keeps its 64-bit addresses; the layout and the walk are ARM LPAE's. Read from the
    /// source, not run on hardware: the section is taken for a huge PMD only with
    /// CONFIG_TRANSPARENT_HUGEPAGE (or HUGETLB_PAGE's identical <c>pmd_huge</c>), and it takes a driver
    /// whose direct I/O uses the fast GUP (4.10's st.c used get_user_pages_unlocked).
    /// </summary>
    ArmLpae,
}

/// <summary>Which entry checks <c>get_user_pages_fast</c> makes before its lockless walk, by era.</summary>
public enum GupFastEntry
{
    /// <summary>x86-64 before 4.13 (arch/x86/mm/gup.c): no <c>access_ok</c>; a wrapping range or one
    /// ending above 2^47 goes straight to the slow path; the walk requires <c>_PAGE_USER</c>.</summary>
    X86OwnWalk,
    /// <summary>Generic mm/gup.c before 4.15: <c>__get_user_pages_fast</c> returns 0 when
    /// <c>access_ok</c> fails and <c>get_user_pages_fast</c> asks the slow path for everything.</summary>
    AccessOkThenSlowPath,
    /// <summary>4.15–4.16 (5b65c4677a57, also in 4.14.y): <c>access_ok</c> in
    /// <c>get_user_pages_fast</c> itself returns 0, the value the vhost bug took for success;
    /// <c>gup_fast_permitted</c> false sends the range to the slow path; no -EOVERFLOW.</summary>
    AccessOkReturnsZero,
    /// <summary>4.17–6.3 (c61611f70958, then internal_get_user_pages_fast): an empty or wrapping
    /// range returns 0, a failing <c>access_ok</c> -EFAULT.</summary>
    AccessOkEfault,
    /// <summary>6.4 on (9883c7f84053, 6014bc27561f): overflow -EOVERFLOW, an end above TASK_SIZE_MAX -EFAULT.</summary>
    TaskSizeMax,
}
