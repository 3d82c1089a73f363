using Kiov.Concurrency;
using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Mm;

/// <summary>
/// The kernel's half of every address space (<c>init_mm</c>): the direct map of all physical
/// memory at <see cref="Layout.DirectMapBase"/> in 2 MiB supervisor-only leaves, and a vmalloc area
/// for <see cref="Vmap"/>. Every <see cref="AddressSpace"/> copies these upper PGD entries, as x86-64
/// does, so kernel addresses are real in every page table and a walker that ignores the user bit
/// reaches kernel memory.
/// </summary>
public sealed unsafe class KernelSpace
{
    private const ulong KernelLeaf = Pte.Present | Pte.Write | Pte.Accessed | Pte.Dirty | Pte.Global | Pte.NoExec;
    private const ulong KernelTable = Pte.Present | Pte.Write | Pte.Accessed;
    private readonly int _pgd;
    private readonly object _vmallocLock = new();
    private ulong _vmallocNext = Layout.VmallocStart; // guarded by _vmallocLock

    /// <summary>Builds the kernel page tables over <paramref name="memory"/>; the frames they use are reserved.</summary>
    public KernelSpace(PhysicalMemory memory, KernelConfig? config = null)
    {
        Memory = memory;
        Config = config ?? KernelConfig.Current;
        _pgd = AllocTable().Pfn;
        const ulong twoMiB = 1UL << 21;
        for (ulong off = 0; off < (ulong)memory.Size; off += twoMiB)
        {
            ulong va = Layout.DirectMapBase + off;
            if (off + twoMiB <= (ulong)memory.Size)
            {
                ulong* pmd = PmdEntry(va);
                *pmd = off | KernelLeaf | Pte.Huge;
            }
            else
            {
                for (ulong p = off; p < (ulong)memory.Size; p += PageSize)
                    *PageTables.LookupOrAlloc(memory, _pgd, Layout.DirectMapBase + p, KernelTable) = Pte.Make((int)(p >> PageShift), KernelLeaf);
            }
        }
        PmdEntry(Layout.VmallocStart); // the vmalloc area's upper tables exist from the start, so every PGD shares them
        ZeroPage = memory.Alloc(PageOwner.Kernel);
        memory.Reserve(ZeroPage);
    }

    /// <summary><c>ZERO_PAGE(0)</c>: the one page of zeros, never freed, that read faults of anonymous
    /// memory map where <see cref="KernelConfig.SharedZeroPage"/> holds, and splice hands out for file holes.</summary>
    public Page ZeroPage { get; }

    /// <summary>Physical memory.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>The behaviours of the kernel being modelled.</summary>
    public KernelConfig Config { get; }

    /// <summary>The gate lockless walkers of every address space enter (their "IRQs off").</summary>
    internal WalkerGate Gate { get; } = new();

    /// <summary>Event counters (<c>/proc/vmstat</c>): GUP calls, paths, faults, pins.</summary>
    public VmCounters Counters { get; } = new();

    /// <summary>The kernel's PGD frame (<c>init_mm.pgd</c>).</summary>
    public int Pgd => _pgd;

    /// <summary>The table root the MMU uses for <paramref name="addr"/> in an address space whose PGD
    /// is <paramref name="userPgd"/>: the user's for every address where the kernel shares it, the
    /// kernel's for an upper-half address on a separate-root architecture (TTBR1).</summary>
    public int RootFor(int userPgd, ulong addr) =>
        Config.KernelSharesUserRoot || (long)addr >= 0 ? userPgd : _pgd;

    private Page AllocTable()
    {
        Page p = Memory.Alloc(PageOwner.Kernel);
        if (p.IsNull) throw new InvalidOperationException("physical memory too small for the kernel's page tables");
        Memory.SetFlags(p, PageFlags.PageTable | PageFlags.Reserved);
        return p;
    }

    private ulong* PmdEntry(ulong va)
    {
        int table = _pgd;
        for (int level = 3; level > 1; level--)
        {
            ulong* e = PageTables.Entry(Memory, table, PageTables.Index(va, level));
            if ((*e & Pte.Present) == 0) *e = Pte.Make(AllocTable().Pfn, KernelTable);
            table = Pte.Pfn(*e);
        }
        return PageTables.Entry(Memory, table, PageTables.Index(va, 1));
    }

    /// <summary>Copies the kernel half of the PGD into a new address space's PGD (<c>pgd_alloc</c>),
    /// where the architecture keeps the kernel in every process's table; with a separate kernel root
    /// (arm64's TTBR1) the user's table holds user entries only.</summary>
    internal void CopyKernelHalf(int userPgd)
    {
        if (!Config.KernelSharesUserRoot) return;
        for (int i = PageTables.Entries / 2; i < PageTables.Entries; i++)
            *PageTables.Entry(Memory, userPgd, i) = *PageTables.Entry(Memory, _pgd, i);
    }

    /// <summary>
    /// Maps <paramref name="pages"/> at consecutive kernel addresses in the vmalloc area (<c>vmap</c>)
    /// and returns the first address. Takes no references: the caller keeps the pages until <see cref="Vunmap"/>.
    /// </summary>
    public ulong Vmap(ReadOnlySpan<Page> pages)
    {
        ulong start;
        Sched.Lock(_vmallocLock);
        lock (_vmallocLock)
        {
            start = _vmallocNext;
            _vmallocNext += ((ulong)pages.Length + 1) << PageShift; // a guard page after each area
            if (_vmallocNext > Layout.VmallocStart + Layout.VmallocSize) throw new InvalidOperationException("vmalloc area exhausted");
            for (int i = 0; i < pages.Length; i++)
            {
                ulong* pte = PageTables.LookupOrAlloc(Memory, _pgd, start + ((ulong)i << PageShift), KernelTable);
                if (pte == null) throw new InvalidOperationException("out of memory for vmalloc page tables");
                Interlocked.Exchange(ref *pte, Pte.Make(pages[i].Pfn, KernelLeaf));
            }
        }
        return start;
    }

    /// <summary>Removes a <see cref="Vmap"/> mapping of <paramref name="count"/> pages (<c>vunmap</c>).</summary>
    public void Vunmap(ulong start, int count)
    {
        for (int i = 0; i < count; i++)
        {
            ulong* pte = PageTables.Lookup(Memory, _pgd, start + ((ulong)i << PageShift), out _);
            if (pte != null) Pte.Clear(pte);
        }
        Gate.Synchronize();
    }

    /// <summary>
    /// Translates a kernel virtual address (direct map or vmalloc) to the native byte it names
    /// and the bytes left in its page; false when nothing is mapped there. The kernel's own
    /// accesses (<c>memcpy</c> on a kernel pointer) never fault in the model: an unmapped kernel
    /// address is a bug in the caller, reported by this returning false.
    /// </summary>
    public bool TryTranslate(ulong kaddr, out byte* p, out Page page)
    {
        if (Memory.TryDirectMapToPage(kaddr, out page))
        {
            p = Memory.Pointer(page) + OffsetInPage(kaddr);
            return true;
        }
        ulong* pte = kaddr >= Layout.VmallocStart ? PageTables.Lookup(Memory, _pgd, kaddr, out bool huge) : null;
        if (pte == null || !Pte.IsPresent(Pte.Read(pte))) { p = null; page = Page.Null; return false; }
        page = new Page(Pte.Pfn(Pte.Read(pte)));
        p = Memory.Pointer(page) + OffsetInPage(kaddr);
        return true;
    }

    /// <summary><c>virt_to_page</c>/<c>vmalloc_to_page</c>: the page behind a kernel address.</summary>
    public Page VirtToPage(ulong kaddr) => TryTranslate(kaddr, out _, out Page page) ? page : Page.Null;
}
