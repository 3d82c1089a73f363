using Kiov.Memory;

namespace Kiov.Mm;

/// <summary>
/// Pages and page tables unlinked from an address space, released only after every lockless walker
/// that may still see them has left (<c>struct mmu_gather</c>: <c>tlb_remove_page</c>,
/// <c>tlb_remove_table</c>, <c>tlb_finish_mmu</c>).
/// </summary>
internal sealed class MmuGather(PhysicalMemory memory, WalkerGate gate)
{
    private readonly List<Page> _pages = [];
    private readonly List<Page> _tables = [];

    /// <summary>Queues the mapping's reference on <paramref name="page"/> to be dropped (<c>tlb_remove_page</c>).</summary>
    public void PutPage(Page page) => _pages.Add(page);

    /// <summary>Queues a page-table frame to be freed (<c>tlb_remove_table</c>).</summary>
    public void FreeTable(Page table) => _tables.Add(table);

    /// <summary>True when nothing is queued.</summary>
    public bool IsEmpty => _pages.Count == 0 && _tables.Count == 0;

    /// <summary>Waits out the lockless walkers, then releases everything queued (<c>tlb_finish_mmu</c>).</summary>
    public void Finish()
    {
        if (IsEmpty) return;
        gate.Synchronize();
        foreach (var p in _pages) memory.Put(p);
        foreach (var t in _tables)
        {
            memory.ClearFlags(t, PageFlags.PageTable);
            memory.Put(t);
        }
        _pages.Clear();
        _tables.Clear();
    }
}
