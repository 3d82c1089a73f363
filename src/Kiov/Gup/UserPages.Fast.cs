using System.Runtime.CompilerServices;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Uaccess;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Gup;

public static unsafe partial class UserPages
{
    private const ulong PmdSize = 1UL << 21;

    /// <summary>
    /// Test hook of the lockless walk, run inside the walker gate at each <see cref="GupFastStep"/> with
    /// the address being walked; null in production (one null check per step). A hook must never block
    /// on anything that waits for the gate (a writer's Synchronize waits for the walker to leave).
    /// </summary>
    internal static Action<GupFastStep, ulong>? FastStepHook;

    /// <summary>
    /// <c>gup_fast_fallback</c>: validates the range as the modelled kernel does, walks it without a
    /// lock, and hands the rest to the slow path (unless FOLL_FAST_ONLY). Running kernel: overflow is
    /// -EOVERFLOW and an end above TASK_SIZE_MAX -EFAULT. 2017 (no kernel-address check): only
    /// <c>access_ok()</c>, which passes kernel addresses under <c>set_fs(KERNEL_DS)</c>, and when it
    /// fails the slow path decides.
    /// </summary>
    private static int FastFallback(AddressSpace mm, ulong start, int nrPages, Foll flags, Span<Page> pages)
    {
        VmCounters counters = mm.Kernel.Counters;
        if ((flags & ~FastAllowed) != 0) { counters.AddRefused(); return -Errno.EINVAL; }
        bool pin = (flags & Foll.Pin) != 0;
        if (pin && !mm.HasPinned) mm.HasPinned = true;
        KernelConfig config = mm.Kernel.Config;
        start &= PageMask;
        ulong len = (ulong)(long)nrPages << PageShift;
        ulong end = start + len;
        int got = 0;
        if (config.GupFastChecksKernelAddress)
        {
            if (end < start) { counters.AddRefused(); return -Errno.EOVERFLOW; }
            if (end > Layout.TaskSizeMax) { counters.AddRefused(); return -Errno.EFAULT; }
            got = FastWalkUnlessForking(mm, start, end, flags, pages);
        }
        else if (nrPages <= 0) { counters.AddFastHit(0, pin); return 0; }
        else if (UserAccess.AccessOk(config, start, len)) got = FastWalkUnlessForking(mm, start, end, flags, pages);

        if (got == nrPages || (flags & Foll.FastOnly) != 0)
        {
            counters.AddFastHit(got, pin);
            return got;
        }
        counters.AddFallback(got, pin);
        long slow = SlowUnlocked(mm, start + ((ulong)got << PageShift), nrPages - got, flags | Foll.Touch | Foll.Unlockable, pages[got..]);
        if (slow < 0) return got > 0 ? got : (int)slow;
        return got + (int)slow;
    }

    /// <summary>
    /// <c>gup_fast</c>'s guard against fork: a FOLL_PIN walk reads <c>mm-&gt;write_protect_seq</c> first
    /// and walks nothing while a fork is write-protecting (odd); if the count moved by the end, a
    /// fork may have shared a page after it was pinned here, so every pin is dropped and the slow path,
    /// which fork excludes by the mmap lock, does the work.
    /// </summary>
    private static int FastWalkUnlessForking(AddressSpace mm, ulong start, ulong end, Foll flags, Span<Page> pages)
    {
        if ((flags & Foll.Pin) == 0) return FastWalk(mm, start, end, flags, pages);
        int seq = mm.WriteProtectSeq;
        if ((seq & 1) != 0) return 0;
        int got = FastWalk(mm, start, end, flags, pages);
        ForkRaceHook?.Invoke(mm, start);
        if (got == 0 || mm.WriteProtectSeq == seq) return got;
        for (int i = 0; i < got; i++) Ungrab(mm.Memory, pages[i], flags);
        return 0;
    }

    /// <summary>Test hook run by a FOLL_PIN GUP-fast after its walk and before it re-reads the
    /// write-protect sequence: where a fork can race it. Null in production.</summary>
    internal static Action<AddressSpace, ulong>? ForkRaceHook;

    /// <summary>
    /// <c>gup_fast</c>: inside the gate (the kernel's IRQs-off section), walk [start, end) one page
    /// table at a time, reading each entry once, and stop at the first that is absent, PROT_NONE, not
    /// writable for a write, supervisor-only (when the user bit is checked) or special; take a
    /// speculative reference or pin, then re-read the entry (and its PMD) and give the page back if
    /// either changed. Returns the pages obtained, each in <paramref name="pages"/>.
    /// </summary>
    private static int FastWalk(AddressSpace mm, ulong start, ulong end, Foll flags, Span<Page> pages)
    {
        PhysicalMemory mem = mm.Memory;
        Action<GupFastStep, ulong>? hook = FastStepHook;
        ulong need = Pte.Present | ((flags & Foll.Write) != 0 ? Pte.Write : 0) | (mm.Kernel.Config.GupFastChecksUserBit ? Pte.User : 0);
        int nr = 0, kernelPages = 0;
        WalkerGate gate = mm.Kernel.Gate;
        int token = gate.Enter();
        try
        {
            ulong addr = start;
            while (addr < end)
            {
                ulong* pmdp = PmdEntry(mem, mm.Pgd, addr);
                if (pmdp == null) break;
                ulong pmd = Pte.Read(pmdp);
                if ((pmd & Pte.Present) == 0) break;
                ulong next = (addr & ~(PmdSize - 1)) + PmdSize;
                ulong stop = next == 0 || next > end ? end : next;
                bool leaf = (pmd & Pte.Huge) != 0;
                // A 2 MiB leaf (the kernel's direct map) is one entry for 512 pages; a table has one per page.
                ulong* ptep = leaf ? pmdp : PageTables.Entry(mem, Pte.Pfn(pmd), PageTables.Index(addr, 0));
                for (; addr < stop; addr += PageSize, ptep += leaf ? 0 : 1)
                {
                    ulong entry = Pte.Read(ptep);
                    if ((entry & need) != need || (entry & Pte.Special) != 0) goto done;
                    hook?.Invoke(GupFastStep.AfterEntryRead, addr);
                    Page page = new(Pte.Pfn(entry) + (leaf ? PageTables.Index(addr, 0) : 0));
                    if (!TryGrab(mem, page, flags)) goto done;
                    hook?.Invoke(GupFastStep.AfterSpeculativeRef, addr);
                    if (Pte.Read(ptep) != entry || Pte.Read(pmdp) != pmd)
                    {
                        Ungrab(mem, page, flags);
                        goto done;
                    }
                    if ((entry & Pte.Write) == 0 && MustUnshare(mm.Kernel.Config, mem, null, flags, page))
                    {
                        Ungrab(mem, page, flags);  // a shared anonymous page: the slow path unshares it
                        goto done;
                    }
                    hook?.Invoke(GupFastStep.AfterRecheck, addr);
                    if ((entry & Pte.User) == 0) kernelPages++;
                    pages[nr++] = page;
                }
            }
        done:;
        }
        finally { gate.Exit(token); }
        if (kernelPages != 0) mm.Kernel.Counters.AddKernelPages(kernelPages);
        return nr;
    }

    // The PMD entry of addr (pgd → pud → pmd), or null where an upper level is absent or a leaf.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong* PmdEntry(PhysicalMemory mem, int pgd, ulong addr)
    {
        int table = pgd;
        for (int level = 3; level > 1; level--)
        {
            ulong v = Pte.Read(PageTables.Entry(mem, table, PageTables.Index(addr, level)));
            if ((v & (Pte.Present | Pte.Huge)) != Pte.Present) return null;
            table = Pte.Pfn(v);
        }
        return PageTables.Entry(mem, table, PageTables.Index(addr, 1));
    }
}
