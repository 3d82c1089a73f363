using Kiov.Concurrency;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Fs;

/// <summary>
/// The inode behind a memfd (a shmem inode): its page cache, size, seals, the mappings of it (the
/// reverse map truncation and hole punching use) and the count of shared mappings that may write
/// (<c>i_mmap_writable</c>). Every open file of it (<see cref="MemfdFile"/>, one per
/// <c>memfd_create</c> or reopen through /proc/self/fd) holds a reference; the last one frees the pages.
/// </summary>
/// <remarks>Lock order: <see cref="WriteLock"/> (<c>i_rwsem</c>, held by writers and truncation across
/// their copies, which may fault) before any mmap lock, before <see cref="SizeLock"/> (held only for a
/// size check or a page lookup, so the fault path may take it under the mmap lock).</remarks>
public sealed class ShmemInode
{
    private readonly List<(AddressSpace mm, Vma vma)> _mappings = [];  // guarded by itself
    private int _refs = 1;                                             // Interlocked
    private int _mmapWritable;                                         // guarded by _mappings
    private long _size;                                                // written under both locks, read under either

    internal ShmemInode(Kernel kernel, Seals seals, bool executable)
    {
        Executable = executable;
        Kernel = kernel;
        Cache = new PageCache(kernel.Memory);
        SealBits = seals;
    }

    /// <summary>The machine.</summary>
    public Kernel Kernel { get; }

    /// <summary>The file's pages (<c>inode->i_mapping</c>).</summary>
    public PageCache Cache { get; }

    /// <summary><c>inode->i_rwsem</c>.</summary>
    internal object WriteLock { get; } = new();

    /// <summary>Guards the size against faults and reads (the model's stand-in for the folio locks).</summary>
    internal object SizeLock { get; } = new();

    /// <summary><c>i_size</c>.</summary>
    public long Size { get { Sched.Lock(SizeLock); lock (SizeLock) return _size; } }

    /// <summary>Sets <c>i_size</c>; the caller holds <see cref="WriteLock"/>.</summary>
    internal void SetSizeLocked(long size) { Sched.Lock(SizeLock); lock (SizeLock) _size = size; }

    /// <summary>The size; the caller holds <see cref="SizeLock"/>.</summary>
    internal long SizeUnderLock => _size;

    /// <summary><c>info->seals</c>; changed under <see cref="WriteLock"/>.</summary>
    public Seals SealBits { get; internal set; }

    /// <summary>The exec bits of the mode are set (a memfd made without MFD_NOEXEC_SEAL).</summary>
    public bool Executable { get; }

    /// <summary>True when writes are sealed (<c>F_SEAL_WRITE</c> or <c>F_SEAL_FUTURE_WRITE</c>).</summary>
    public bool WriteSealed => (SealBits & (Seals.Write | Seals.FutureWrite)) != 0;

    internal void Get() => Interlocked.Increment(ref _refs);

    internal void Put()
    {
        int r = Interlocked.Decrement(ref _refs);
        if (r == 0) Cache.RemoveFrom(0);
        else if (r < 0) throw new KiovBugException("shmem inode put below zero");
    }

    /// <summary>The mappings of this inode, copied (the reverse map).</summary>
    internal List<(AddressSpace mm, Vma vma)> Mappings() { lock (_mappings) return [.. _mappings]; }

    /// <summary><c>vma_interval_tree_insert</c> and <c>mapping_map_writable</c> for a shared mapping
    /// that may write.</summary>
    internal void AddMapping(AddressSpace mm, Vma vma)
    {
        lock (_mappings)
        {
            _mappings.Add((mm, vma));
            if (IsSharedMayWrite(vma.Flags)) _mmapWritable++;
        }
    }

    /// <summary>The reverse of <see cref="AddMapping"/>.</summary>
    internal void RemoveMapping(AddressSpace mm, Vma vma)
    {
        lock (_mappings)
        {
            _mappings.Remove((mm, vma));
            if (IsSharedMayWrite(vma.Flags)) _mmapWritable--;
        }
    }

    private static bool IsSharedMayWrite(VmFlags f) => (f & (VmFlags.Shared | VmFlags.MayWrite)) == (VmFlags.Shared | VmFlags.MayWrite);

    /// <summary><c>mapping_deny_writable</c>: -EBUSY while a shared mapping may write.</summary>
    internal int DenyWritable() { lock (_mappings) return _mmapWritable > 0 ? -Errno.EBUSY : 0; }

    /// <summary>
    /// <c>memfd_wait_for_pins</c>: a page someone else holds a reference to beside the cache and its
    /// mappings (a pipe buffer, a pin) may still be written through that reference, so F_SEAL_WRITE
    /// waits for it to go and gives -EBUSY if it stays. The model's references cannot drop while
    /// the caller holds the inode lock, so it looks once.
    /// </summary>
    internal int CheckNoExtraReferences()
    {
        foreach (long index in Cache.Indices())
        {
            Page page = Cache.Find(index);
            if (page.IsNull) continue;
            if (Kernel.Memory.RefCount(page) - Kernel.Memory.MapCount(page) != 1) return -Errno.EBUSY;
        }
        return 0;
    }

    /// <summary>
    /// Drops the file's pages in [<paramref name="first"/>, <paramref name="end"/>) (page indices) from
    /// every mapping and from the cache: truncation (<paramref name="evenCows"/>: private copies go too)
    /// or a punched hole (they stay). Pages are dropped from the cache first, each under its page lock
    /// (<c>truncate_inode_pages_range</c> locks a folio before it deletes it), then unmapped, so a
    /// fault that raced either waits for the lock or finds its page gone and takes it back out. The
    /// caller holds <see cref="WriteLock"/>.
    /// </summary>
    internal void DropRange(long first, long end, bool evenCows)
    {
        var maps = Mappings();
        PhysicalMemory mem = Kernel.Memory;
        var locked = new List<Page>();
        foreach (long index in Cache.Indices())
        {
            if (index < first || index >= end) continue;
            Page page = Cache.Find(index);
            if (page.IsNull || !mem.TryGetUnlessZero(page)) continue;
            PageLock.Lock(mem, page);
            locked.Add(page);
        }
        Cache.RemoveRange(first, end);
        foreach (Page page in locked)
        {
            PageLock.Unlock(mem, page);
            mem.Put(page);
        }
        foreach (var (mm, vma) in maps) mm.ZapFilePages(vma, first, end, evenCows);
    }

    /// <summary>True when the page at <paramref name="index"/> is in the cache (<c>mincore_page</c>).</summary>
    public bool IsCached(long index) => !Cache.Find(index).IsNull;

    /// <summary>Zeroes the bytes of the last page past <paramref name="length"/> (a shrinking truncate).</summary>
    internal void ZeroTail(long length)
    {
        int tail = (int)(length & (PageSize - 1));
        if (tail == 0) return;
        Page last = Cache.Find(length >> PageShift);
        if (!last.IsNull) Kernel.Memory.Span(last)[tail..].Clear();
    }
}
