using Kiov.Concurrency;
using Kiov.Memory;

namespace Kiov.Mm;

/// <summary>
/// The pages of one file by index (<c>struct address_space</c> and its xarray <c>i_pages</c>).
/// The cache holds one reference on each page it contains. Thread-safe.
/// </summary>
/// <remarks>The index is kept as the xarray keeps it: in nodes of 64 slots, each covering an aligned
/// run of 64 indices, so a run of pages is one look-up of its node, not one per page.</remarks>
public sealed class PageCache(PhysicalMemory memory)
{
    private const int NodeShift = 6;                       // XA_CHUNK_SHIFT
    private const int NodeSlots = 1 << NodeShift;          // XA_CHUNK_SIZE
    private readonly Dictionary<long, Node> _nodes = [];   // guarded by _lock: by index >> NodeShift
    private int _count;                                    // guarded by _lock
    private readonly object _lock = new();

    // One xa_node's slots: Page.Null is an empty slot.
    private sealed class Node
    {
        public readonly Page[] Slots = new Page[NodeSlots];
        public int Used;
    }

    /// <summary>Physical memory the pages come from.</summary>
    public PhysicalMemory Memory => memory;

    /// <summary>How many pages are cached (<c>nrpages</c>).</summary>
    public int Count { get { Sched.Lock(_lock); lock (_lock) return _count; } }

    // xa_load under _lock.
    private Page LoadLocked(long index) =>
        _nodes.TryGetValue(index >> NodeShift, out Node? node) ? node.Slots[index & (NodeSlots - 1)] : Page.Null;

    // xa_store of a page into an empty slot, under _lock.
    private void StoreLocked(long index, Page page)
    {
        if (!_nodes.TryGetValue(index >> NodeShift, out Node? node))
            _nodes.Add(index >> NodeShift, node = new Node());
        node.Slots[index & (NodeSlots - 1)] = page;
        node.Used++;
        _count++;
    }

    // xa_erase of an occupied slot, under _lock; a node left empty goes.
    private void EraseLocked(long index, Node node)
    {
        node.Slots[index & (NodeSlots - 1)] = Page.Null;
        _count--;
        if (--node.Used == 0) _nodes.Remove(index >> NodeShift);
    }

    /// <summary><c>filemap_get_folio</c> without creating: the page at <paramref name="index"/> with a
    /// reference for the caller, or <see cref="Page.Null"/> for a hole.</summary>
    public Page FindGet(long index)
    {
        Sched.Lock(_lock);
        lock (_lock)
        {
            Page page = LoadLocked(index);
            if (!page.IsNull) memory.Get(page);
            return page;
        }
    }

    /// <summary><c>filemap_get_folios_contig</c>: the pages at <paramref name="first"/> and after, up to
    /// the first hole or <paramref name="pages"/>.Length, each with a reference for the caller, under
    /// one acquisition of the cache's lock and one look-up per node. Returns how many.</summary>
    internal int FindGetRun(long first, Span<Page> pages)
    {
        Sched.Lock(_lock);
        lock (_lock)
        {
            int n = 0;
            while (n < pages.Length)
            {
                long index = first + n;
                if (!_nodes.TryGetValue(index >> NodeShift, out Node? node)) break;
                int slot = (int)(index & (NodeSlots - 1));
                int end = Math.Min(NodeSlots, slot + pages.Length - n);
                for (; slot < end && !node.Slots[slot].IsNull; slot++, n++) pages[n] = node.Slots[slot];
                if (slot < end) break;
            }
            // The references, once the run is known: their counts fetched together first.
            memory.Prefetch(pages[..n]);
            foreach (Page page in pages[..n]) memory.Get(page);
            return n;
        }
    }

    /// <summary><c>xa_load</c>: the page at <paramref name="index"/> without a reference, valid while
    /// the caller keeps the file from being truncated; <see cref="Page.Null"/> for a hole.</summary>
    public Page Find(long index)
    {
        Sched.Lock(_lock);
        lock (_lock) return LoadLocked(index);
    }

    /// <summary><c>filemap_grab_folio</c>/<c>shmem_get_folio</c>: the page at <paramref name="index"/>,
    /// created zeroed if absent, with a reference for the caller; <see cref="Page.Null"/> when memory is exhausted.</summary>
    public Page FindOrCreate(long index)
    {
        Sched.Lock(_lock);
        lock (_lock)
        {
            Page page = LoadLocked(index);
            if (page.IsNull)
            {
                page = memory.Alloc(PageOwner.PageCache);
                if (page.IsNull) return Page.Null;
                memory.SetFlags(page, PageFlags.PageCache | PageFlags.Uptodate);
                StoreLocked(index, page);
            }
            memory.Get(page);
            return page;
        }
    }

    /// <summary><c>truncate_inode_pages_range</c> from <paramref name="firstIndex"/> on: the cache drops
    /// its reference on every page at or after it, in index order.</summary>
    public void RemoveFrom(long firstIndex)
    {
        Sched.Lock(_lock);
        List<Page> dropped;
        lock (_lock) dropped = EraseRangeLocked(firstIndex, long.MaxValue);
        foreach (var p in dropped) memory.Put(p);
    }

    /// <summary><c>truncate_inode_pages_range</c> for whole pages [<paramref name="first"/>, <paramref name="end"/>):
    /// the cache drops its reference on each, in index order.</summary>
    public void RemoveRange(long first, long end)
    {
        List<Page> dropped;
        Sched.Lock(_lock);
        lock (_lock) dropped = EraseRangeLocked(first, end);
        foreach (var p in dropped) memory.Put(p);
    }

    // Takes the pages at [first, end) out of the index, in index order, for the caller to put.
    private List<Page> EraseRangeLocked(long first, long end)
    {
        List<Page> dropped = [];
        if (first >= end) return dropped;
        long[] keys = [.. _nodes.Keys.Where(k => k >= first >> NodeShift && k <= (end - 1) >> NodeShift).Order()];
        foreach (long key in keys)
        {
            Node node = _nodes[key];
            for (int slot = 0; slot < NodeSlots; slot++)
            {
                long index = (key << NodeShift) + slot;
                if (index < first || index >= end || node.Slots[slot].IsNull) continue;
                dropped.Add(node.Slots[slot]);
                EraseLocked(index, node);
            }
        }
        return dropped;
    }

    /// <summary><c>__remove_mapping</c> for reclaim: drops <paramref name="page"/> from the cache if it is
    /// still the page at <paramref name="index"/>, clean, and referenced by nothing but the cache
    /// (<paramref name="otherRefs"/> references the caller accounts for aside). Returns whether it went.</summary>
    public bool RemoveIfReclaimable(long index, Page page, int otherRefs)
    {
        Sched.Lock(_lock);
        lock (_lock)
        {
            if (!_nodes.TryGetValue(index >> NodeShift, out Node? node) || node.Slots[index & (NodeSlots - 1)] != page) return false;
            if ((memory.Flags(page) & PageFlags.Dirty) != 0 || memory.RefCount(page) != 1 + otherRefs) return false;
            EraseLocked(index, node);
        }
        memory.Put(page);
        return true;
    }

    /// <summary>True when a page is cached at <paramref name="index"/>.</summary>
    public bool Contains(long index) { Sched.Lock(_lock); lock (_lock) return !LoadLocked(index).IsNull; }

    /// <summary>The indices cached, in order (for reports and tests).</summary>
    public long[] Indices()
    {
        Sched.Lock(_lock);
        lock (_lock)
        {
            var indices = new List<long>(_count);
            foreach (long key in _nodes.Keys.Order())
            {
                Page[] slots = _nodes[key].Slots;
                for (int slot = 0; slot < NodeSlots; slot++)
                    if (!slots[slot].IsNull) indices.Add((key << NodeShift) + slot);
            }
            return [.. indices];
        }
    }
}

/// <summary>
/// The shmem object behind a <c>MAP_SHARED|MAP_ANONYMOUS</c> mapping (<c>shmem_zero_setup</c>):
/// pages shared by every mapping of it, released when the last mapping goes. Its size is the
/// mapping's length: a fault beyond it (after mremap grew the mapping) is SIGBUS.
/// </summary>
public sealed class AnonSharedMemory(PhysicalMemory memory, long pages) : IMappableFile
{
    private readonly PageCache _cache = new(memory);
    private readonly List<(AddressSpace mm, Vma vma)> _mappings = [];  // guarded by itself

    /// <inheritdoc/>
    public string Name => "/dev/zero (deleted)";
    /// <inheritdoc/>
    public bool OpenForRead => true;
    /// <inheritdoc/>
    public bool OpenForWrite => true;
    /// <inheritdoc/>
    public bool HasMmap => true;
    /// <inheritdoc/>
    public VmFlags MmapFlags => VmFlags.None;
    /// <inheritdoc/>
    public Page Fault(long index) => index < pages ? _cache.FindOrCreate(index) : Page.Null;
    /// <inheritdoc/>
    public bool IsCurrent(long index, Page page) => _cache.Find(index) == page;
    /// <inheritdoc/>
    public bool IsCached(long index) => _cache.Contains(index);

    /// <inheritdoc/>
    public bool Reclaim(long index, Page page, int otherRefs) => _cache.RemoveIfReclaimable(index, page, otherRefs);

    /// <summary><c>shmem_fallocate</c> punching pages [first, end): they leave every mapping (private
    /// copies stay) and the object, and read back as zeros.</summary>
    public int PunchHole(long first, long end)
    {
        List<(AddressSpace mm, Vma vma)> maps;
        lock (_mappings) maps = [.. _mappings];
        _cache.RemoveRange(first, end);
        foreach (var (mm, vma) in maps) mm.ZapFilePages(vma, first, end, evenCows: false);
        return 0;
    }

    /// <inheritdoc/>
    public void OnMap(AddressSpace mm, Vma vma) { lock (_mappings) _mappings.Add((mm, vma)); }

    /// <inheritdoc/>
    public void OnUnmap(AddressSpace mm, Vma vma)
    {
        bool last;
        lock (_mappings)
        {
            _mappings.Remove((mm, vma));
            last = _mappings.Count == 0;
        }
        if (last) _cache.RemoveFrom(0);
    }
}
