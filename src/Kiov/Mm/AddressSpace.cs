using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Mm;

// Lock order of the Mm layer (outermost first), as every caller above must respect it:
//   1. MmapLock of an address space (never two at once, except remote GUP, which takes only the target's,
//      and fork, which takes the new child's, unreachable by anyone else, under the parent's)
//   2. a file's own locks (PageCache._lock) and the frame allocator's lock
//   3. WalkerGate: innermost; nothing inside it blocks, faults or takes a lock
// WalkerGate.Synchronize may be called with the MmapLock held, never from inside the gate.

/// <summary>
/// A user address space (<c>struct mm_struct</c>): its areas, its four-level page tables whose
/// upper half is the kernel's, and its mmap lock. Page tables and pages it unlinks are freed only
/// after lockless walkers have left (<see cref="MmuGather"/>).
/// </summary>
public sealed unsafe partial class AddressSpace : IDisposable
{
    private readonly VmaTree _vmas = new();  // protected by MmapLock
    private int _pgd;                        // the PGD frame; 0 after Dispose
    private long _faults, _cowFaults;        // Interlocked
    private long _lockedVm;                  // mm->locked_vm in pages, protected by MmapLock (write)

    /// <summary>Creates an empty address space whose kernel half is <paramref name="kernel"/>'s (<c>mm_alloc</c>).</summary>
    public AddressSpace(KernelSpace kernel)
    {
        Kernel = kernel;
        Page pgd = Memory.Alloc(PageOwner.PageTable);
        if (pgd.IsNull) throw new InvalidOperationException("out of memory for a PGD");
        Memory.SetFlags(pgd, PageFlags.PageTable);
        _pgd = pgd.Pfn;
        kernel.CopyKernelHalf(_pgd);
    }

    /// <summary>
    /// A test hook run by the uaccess walk inside the <see cref="WalkerGate"/>, right after it read
    /// the PTE of the address it is given and before it acts on the entry: the "explicit hooks in
    /// the walk" of the design (README.md, "Concurrency"), so that a test can make munmap or madvise race with that exact step.
    /// It must not block on anything the racing writer holds. Null (the default) costs one load per page.
    /// </summary>
    internal Action<ulong>? AfterPteReadHook;

    /// <summary>The kernel half and its configuration.</summary>
    public KernelSpace Kernel { get; }

    /// <summary>Physical memory.</summary>
    public PhysicalMemory Memory => Kernel.Memory;

    /// <summary>The mmap lock (<c>mm->mmap_lock</c>).</summary>
    public MmapLock MmapLock { get; } = new();

    /// <summary>The PGD frame (<c>mm->pgd</c>), for walkers.</summary>
    public int Pgd => _pgd;

    /// <summary>The areas; read under the mmap lock.</summary>
    internal VmaTree Vmas => _vmas;

    /// <summary><c>MMF_HAS_PINNED</c>: some page of this address space was ever pinned with FOLL_PIN.</summary>
    public bool HasPinned { get; internal set; }

    /// <summary><c>mm->locked_vm</c>: pages in VM_LOCKED areas.</summary>
    public long LockedVm => _lockedVm;

    /// <summary>Page faults handled (<c>handle_mm_fault</c> calls that did something).</summary>
    public long Faults => Interlocked.Read(ref _faults);

    /// <summary>Of <see cref="Faults"/>, those that copied a page for copy-on-write.</summary>
    public long CowFaults => Interlocked.Read(ref _cowFaults);

    /// <summary><c>vma_lookup</c>: the area containing <paramref name="addr"/>. Caller holds the mmap
    /// lock (asserted in debug builds).</summary>
    public Vma? FindVma(ulong addr)
    {
        MmapLock.AssertLocked();
        return _vmas.Find(addr);
    }

    /// <summary>A /proc/self/maps-style listing (takes the mmap lock for reading).</summary>
    public IReadOnlyList<Vma> Maps()
    {
        using var _ = MmapLock.Read();
        return _vmas.ToList();
    }

    /// <summary>
    /// Reads the PTE of <paramref name="addr"/> without a lock (for tests and tools): 0 when nothing
    /// is mapped. A 2 MiB leaf is returned as its PMD entry.
    /// </summary>
    public ulong ReadPte(ulong addr)
    {
        int token = Kernel.Gate.Enter();
        try
        {
            ulong* p = PageTables.Lookup(Memory, _pgd, addr, out _);
            return p == null ? 0 : Pte.Read(p);
        }
        finally { Kernel.Gate.Exit(token); }
    }

    /// <summary>Tears the address space down (<c>exit_mmap</c>): every area is unmapped, every page
    /// and page table released.</summary>
    public void Dispose()
    {
        if (_pgd == 0) return;
        var gather = new MmuGather(Memory, Kernel.Gate);
        using (MmapLock.Write())
        {
            foreach (var vma in _vmas.ToList())
            {
                ZapRange(vma.Start, vma.End, gather);
                _vmas.Remove(vma);
                vma.File?.OnUnmap(this, vma);
            }
            PageTables.FreeEmptyTables(Memory, _pgd, 0, Layout.TaskSizeMax + PageSize, gather);
        }
        gather.Finish();
        Page pgd = new(_pgd);
        _pgd = 0;
        Memory.ClearFlags(pgd, PageFlags.PageTable);
        Memory.Put(pgd);
    }
}
