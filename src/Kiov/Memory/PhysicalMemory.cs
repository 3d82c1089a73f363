using Kiov.Concurrency;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Memory;

/// <summary>
/// Physical memory: one page-aligned native block carved into 4 KiB frames, with the per-frame
/// metadata the kernel keeps in <c>struct page</c> (reference count, map count, flags) and a
/// thread-safe frame allocator (<c>alloc_page</c>/<c>__free_page</c>).
/// </summary>
/// <remarks>
/// <para>Reference counting follows the kernel: a new frame has a count of one; <see cref="Put"/> of
/// the last reference frees it. FOLL_PIN pins add <see cref="PinBias"/> (1024) to the count, so
/// "maybe DMA-pinned" is a count of 1024 or more (<c>page_maybe_dma_pinned</c>).</para>
/// <para>Counts and flags are touched only through <see cref="Interlocked"/> and <see cref="Volatile"/>,
/// so lockless walkers may race with them. The free list is protected by <c>_allocLock</c>.</para>
/// <para>A freed frame is filled with <see cref="PoisonByte"/>; reaching a free frame through
/// <see cref="Pointer"/>, or finding the poison disturbed when the frame is reused, throws
/// <see cref="KiovBugException"/>.</para>
/// </remarks>
public sealed unsafe class PhysicalMemory : IDisposable
{
    /// <summary><c>GUP_PIN_COUNTING_BIAS</c>: what one FOLL_PIN adds to an order-0 page's count.</summary>
    public const int PinBias = 1024;

    /// <summary><c>PAGE_POISON</c>-style byte written over a freed frame (the kernel's <c>POISON_FREE</c>, 0x6b).</summary>
    public const byte PoisonByte = 0x6b;

    /// <summary><c>PAGE_OFFSET</c> on x86-64 (4-level paging): where the kernel's direct map of all
    /// physical memory starts. Frame <c>n</c> is at <c>DirectMapBase + n * PAGE_SIZE</c>.</summary>
    public const ulong DirectMapBase = 0xffff_8880_0000_0000;

    /// <summary>The default size: 256 MiB.</summary>
    public const long DefaultSize = 256L << 20;

    private byte* _base;
    private readonly int[] _refcount;   // Interlocked
    private readonly int[] _mapcount;   // Interlocked
    private readonly int[] _flags;      // Interlocked (PageFlags)
    private readonly PageOwner[] _owner; // written by the allocator only
    private readonly int[] _freeStack;  // guarded by _allocLock
    private readonly bool[] _onFreeList; // guarded by _allocLock: exactly the frames in _freeStack
    private int _freeTop;               // guarded by _allocLock
    private readonly object _allocLock = new();

    /// <summary>Carves <paramref name="bytes"/> (rounded down to whole pages, at least 16 pages) of
    /// native memory into frames. Frame 0 is reserved, so that <see cref="Page.Null"/> is never handed out.</summary>
    public PhysicalMemory(long bytes = DefaultSize)
    {
        if (bytes < 16L * PageSize || bytes > (1L << 40))
            throw new ArgumentOutOfRangeException(nameof(bytes), "physical memory must be 64 KiB to 1 TiB");
        FrameCount = (int)(bytes >> PageShift);
        _base = (byte*)NativeMemory.AlignedAlloc((nuint)FrameCount << PageShift, PageSize);
        _refcount = new int[FrameCount];
        _mapcount = new int[FrameCount];
        _flags = new int[FrameCount];
        _owner = new PageOwner[FrameCount];
        _freeStack = new int[FrameCount];
        _onFreeList = new bool[FrameCount];
        for (int pfn = FrameCount - 1; pfn >= 1; pfn--)
        {
            _flags[pfn] = (int)PageFlags.Free;
            _freeStack[_freeTop++] = pfn;
            _onFreeList[pfn] = true;
        }
        _refcount[0] = 1;
        _flags[0] = (int)PageFlags.Reserved;
        _owner[0] = PageOwner.Kernel;
    }

    /// <summary>The number of frames, frame 0 included.</summary>
    public int FrameCount { get; }

    /// <summary>The size of physical memory in bytes.</summary>
    public long Size => (long)FrameCount << PageShift;

    /// <summary>Frames on the free list now.</summary>
    public int FreeFrames { get { lock (_allocLock) return _freeTop; } }

    /// <summary>When true (the default), a frame's poison is checked when it is reused, catching
    /// writes after free. Costs one vectorised scan of 4 KiB per allocation.</summary>
    public bool CheckPoisonOnAlloc { get; set; } = true;

    /// <summary>Allocates one frame with a reference count of one (<c>alloc_page</c>), zeroed when
    /// <paramref name="zero"/> (<c>__GFP_ZERO</c>). Returns <see cref="Page.Null"/> when memory is exhausted.</summary>
    public Page Alloc(PageOwner owner, bool zero = true)
    {
        int pfn;
        lock (_allocLock)
        {
            if (_freeTop == 0) return Page.Null;
            pfn = _freeStack[--_freeTop];
            _onFreeList[pfn] = false;
        }
        return Prepare(pfn, owner, zero);
    }

    /// <summary>Allocates <paramref name="count"/> physically consecutive frames (<c>alloc_pages</c> of
    /// a higher order, or <c>kmalloc</c> of a large buffer), each with a count of one, so that their
    /// direct-map addresses are consecutive too. Returns the first, or <see cref="Page.Null"/>.</summary>
    public Page AllocContiguous(int count, PageOwner owner, bool zero = true)
    {
        if (count == 1) return Alloc(owner, zero);
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count));
        int first = -1;
        lock (_allocLock)
        {
            // The free list, not the Free flag, says what is free: a frame popped by Alloc keeps its
            // flag until Prepare, and a frame being freed gets its flag before it is pushed.
            int run = 0;
            for (int pfn = 1; pfn < FrameCount; pfn++)
            {
                run = _onFreeList[pfn] ? run + 1 : 0;
                if (run == count) { first = pfn - count + 1; break; }
            }
            if (first < 0) return Page.Null;
            for (int pfn = first; pfn < first + count; pfn++) _onFreeList[pfn] = false;
            int w = 0;
            for (int r = 0; r < _freeTop; r++)
            {
                int pfn = _freeStack[r];
                if (pfn < first || pfn >= first + count) _freeStack[w++] = pfn;
            }
            _freeTop = w;
        }
        for (int i = 0; i < count; i++) Prepare(first + i, owner, zero);
        return new Page(first);
    }

    private Page Prepare(int pfn, PageOwner owner, bool zero)
    {
        byte* p = _base + ((nint)pfn << PageShift);
        int flags = Volatile.Read(ref _flags[pfn]);
        if ((flags & (int)PageFlags.Free) == 0)
            throw new KiovBugException($"allocator handed out pfn {pfn}, which is not free");
        if (CheckPoisonOnAlloc && (flags & (int)PageFlags.Poisoned) != 0
            && new ReadOnlySpan<byte>(p, PageSize).IndexOfAnyExcept(PoisonByte) >= 0)
            throw new KiovBugException($"pfn {pfn} was written after it was freed (poison disturbed)");
        if (zero) new Span<byte>(p, PageSize).Clear();
        _owner[pfn] = owner;
        Volatile.Write(ref _mapcount[pfn], 0);
        Volatile.Write(ref _refcount[pfn], 1);
        Volatile.Write(ref _flags[pfn], 0);
        return new Page(pfn);
    }

    private void FreeFrame(int pfn)
    {
        int flags = Volatile.Read(ref _flags[pfn]);
        if ((flags & (int)PageFlags.Free) != 0) throw new KiovBugException($"double free of pfn {pfn}");
        if ((flags & (int)PageFlags.Reserved) != 0) throw new KiovBugException($"free of reserved pfn {pfn}");
        if (Volatile.Read(ref _mapcount[pfn]) != 0)
            throw new KiovBugException($"pfn {pfn} freed while still mapped {_mapcount[pfn]} times");
        new Span<byte>(_base + ((nint)pfn << PageShift), PageSize).Fill(PoisonByte);
        _owner[pfn] = PageOwner.None;
        Volatile.Write(ref _flags[pfn], (int)(PageFlags.Free | PageFlags.Poisoned));
        lock (_allocLock)
        {
            _freeStack[_freeTop++] = pfn;
            _onFreeList[pfn] = true;
        }
    }

    /// <summary>Takes a reference (<c>get_page</c>). The page must already be referenced.</summary>
    public void Get(Page page)
    {
        Sched.Point(SchedPoint.PageRef, (ulong)(uint)page.Pfn);
        int v = Interlocked.Increment(ref _refcount[Check(page)]);
        if (v <= 1) throw new KiovBugException($"get_page on {page} whose count was {v - 1}");
    }

    /// <summary>Takes a reference unless the count is zero (<c>get_page_unless_zero</c>,
    /// <c>try_get_folio</c>): how a lockless walker grabs a page it found without a lock.</summary>
    public bool TryGetUnlessZero(Page page) => TryAddUnlessZero(page, 1);

    /// <summary>Drops a reference (<c>put_page</c>); the last one frees the frame.</summary>
    public void Put(Page page) => Sub(page, 1, "put_page");

    /// <summary>Adds <paramref name="pins"/> FOLL_PIN pins, each <see cref="PinBias"/> references,
    /// unless the count is zero or would overflow (<c>try_grab_folio</c> with FOLL_PIN).</summary>
    public bool TryPin(Page page, int pins = 1) => TryAddUnlessZero(page, PinBias * pins);

    /// <summary>Drops one FOLL_PIN pin (<c>unpin_user_page</c>); the last reference frees the frame.</summary>
    public void Unpin(Page page) => Sub(page, PinBias, "unpin_user_page");

    private bool TryAddUnlessZero(Page page, int delta)
    {
        ref int count = ref _refcount[Check(page)];
        Sched.Point(SchedPoint.PageRef, (ulong)(uint)page.Pfn);
        while (true)
        {
            int v = Volatile.Read(ref count);
            if (v <= 0 || v > int.MaxValue - delta) return false;
            if (Interlocked.CompareExchange(ref count, v + delta, v) == v) return true;
        }
    }

    private void Sub(Page page, int delta, string what)
    {
        int pfn = Check(page);
        Sched.Point(SchedPoint.PageRef, (ulong)(uint)pfn);
        int v = Interlocked.Add(ref _refcount[pfn], -delta);
        if (v == 0) FreeFrame(pfn);
        else if (v < 0) throw new KiovBugException($"{what} on {page} took its count to {v}");
    }

    /// <summary>The reference count (<c>page_ref_count</c>).</summary>
    public int RefCount(Page page) => Volatile.Read(ref _refcount[Check(page)]);

    /// <summary><c>page_maybe_dma_pinned</c>: the count is at least <see cref="PinBias"/>.</summary>
    public bool MaybeDmaPinned(Page page) => (uint)RefCount(page) >= PinBias;

    /// <summary>How many page-table entries map the page (<c>page_mapcount</c>).</summary>
    public int MapCount(Page page) => Volatile.Read(ref _mapcount[Check(page)]);

    /// <summary>Counts one more mapping of the page (<c>page_add_*_rmap</c>).</summary>
    public void AddMap(Page page) => Interlocked.Increment(ref _mapcount[Check(page)]);

    /// <summary>Counts one mapping fewer (<c>page_remove_rmap</c>).</summary>
    public void RemoveMap(Page page)
    {
        if (Interlocked.Decrement(ref _mapcount[Check(page)]) < 0)
            throw new KiovBugException($"mapcount of {page} went negative");
    }

    /// <summary>The page's flags.</summary>
    public PageFlags Flags(Page page)
    {
        Sched.Point(SchedPoint.PageData, (ulong)(uint)page.Pfn);
        return (PageFlags)Volatile.Read(ref _flags[Check(page)]);
    }

    /// <summary>Sets flags atomically (<c>SetPageDirty</c> and friends).</summary>
    public void SetFlags(Page page, PageFlags flags) => Interlocked.Or(ref _flags[Check(page)], (int)flags);

    /// <summary>Clears flags atomically.</summary>
    public void ClearFlags(Page page, PageFlags flags) => Interlocked.And(ref _flags[Check(page)], ~(int)flags);

    /// <summary>Who allocated the page.</summary>
    public PageOwner Owner(Page page) => _owner[Check(page)];

    /// <summary>The frame's bytes in native memory (<c>page_address</c>/<c>kmap</c>). Throws
    /// <see cref="KiovBugException"/> if the frame is free: a use after free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Pointer(Page page)
    {
        Sched.Point(SchedPoint.PageData, (ulong)(uint)page.Pfn);
        return TablePointer(page);
    }

    /// <summary><see cref="Pointer"/> of a page-table frame: its entries are scheduling points of
    /// their own, so reaching the table is not one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* TablePointer(Page page)
    {
        int pfn = Check(page);
        if ((Volatile.Read(ref _flags[pfn]) & (int)PageFlags.Free) != 0) ThrowUseAfterFree(page);
        return _base + ((nint)pfn << PageShift);
    }

    /// <summary>The frame's bytes as a span (see <see cref="Pointer"/>).</summary>
    public Span<byte> Span(Page page) => new(Pointer(page), PageSize);

    /// <summary>The frame's address in the kernel's direct map (<c>page_address</c> as a kernel virtual address).</summary>
    public static ulong KernelAddress(Page page) => DirectMapBase + ((ulong)(uint)page.Pfn << PageShift);

    /// <summary><c>virt_to_page</c> for a direct-map address: false when <paramref name="kaddr"/> is not
    /// in the direct map of this memory.</summary>
    public bool TryDirectMapToPage(ulong kaddr, out Page page)
    {
        ulong off = kaddr - DirectMapBase;
        if (kaddr < DirectMapBase || off >= (ulong)Size) { page = Page.Null; return false; }
        page = new Page((int)(off >> PageShift));
        return true;
    }

    /// <summary>True when the frame number names a frame of this memory.</summary>
    public bool IsValid(Page page) => (uint)page.Pfn < (uint)FrameCount;

    /// <summary>Marks a frame reserved (<c>SetPageReserved</c>): the leak report ignores it and it is never freed.</summary>
    public void Reserve(Page page) => SetFlags(page, PageFlags.Reserved);

    /// <summary>Frames that are allocated, not reserved, and so owned by someone who should have
    /// released them: after every owner (address space, file, pipe) is gone, this list must be empty.</summary>
    public IReadOnlyList<FrameLeak> LeakReport()
    {
        var leaks = new List<FrameLeak>();
        for (int pfn = 1; pfn < FrameCount; pfn++)
        {
            var f = (PageFlags)Volatile.Read(ref _flags[pfn]);
            if ((f & (PageFlags.Free | PageFlags.Reserved)) != 0) continue;
            leaks.Add(new FrameLeak(new Page(pfn), _owner[pfn], Volatile.Read(ref _refcount[pfn]),
                Volatile.Read(ref _mapcount[pfn]), f));
        }
        return leaks;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Check(Page page)
    {
        if ((uint)page.Pfn >= (uint)FrameCount) ThrowBadPage(page);
        return page.Pfn;
    }

    private static void ThrowBadPage(Page page) => throw new KiovBugException($"{page} is not a frame of this memory");
    private static void ThrowUseAfterFree(Page page) => throw new KiovBugException($"use after free: {page} is on the free list");

    /// <summary>Releases the native block.</summary>
    public void Dispose()
    {
        if (_base != null) { NativeMemory.AlignedFree(_base); _base = null; }
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the native block if <see cref="Dispose"/> was not called.</summary>
    ~PhysicalMemory() => Dispose();
}

/// <summary>One line of <see cref="PhysicalMemory.LeakReport"/>.</summary>
/// <param name="Page">The frame.</param>
/// <param name="Owner">Who allocated it.</param>
/// <param name="RefCount">Its reference count.</param>
/// <param name="MapCount">Its map count.</param>
/// <param name="Flags">Its flags.</param>
public readonly record struct FrameLeak(Page Page, PageOwner Owner, int RefCount, int MapCount, PageFlags Flags)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{Page}: {Owner}, refcount {RefCount}{(RefCount >= PhysicalMemory.PinBias ? " (pinned)" : "")}, mapcount {MapCount}, {Flags}";
}
