using Kiov.Concurrency;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Memory;

/// <summary>
/// Physical memory: page-aligned native memory carved into 4 KiB frames, with the per-frame
/// metadata the kernel keeps in <c>struct page</c> (reference count, map count, flags) and a
/// thread-safe frame allocator (<c>alloc_page</c>/<c>__free_page</c>).
/// </summary>
/// <remarks>
/// <para>Sized to the work: the frames lie in one large reservation of address space, and a frame
/// is committed (made real memory) only when it is first handed out, a chunk at a time; the metadata
/// is native memory that the host kernel supplies on first touch. So a machine of tens of GiB costs
/// what its traces use. Frames are handed out from the lowest never-used frame upward (the
/// <em>frontier</em>), after the freed ones (LIFO), so the order is that of a free list holding every
/// frame in ascending order. Or the frames are memory the caller owns (<see cref="OverCallerMemory"/>).</para>
/// <para>Reference counting follows the kernel: a new frame has a count of one; <see cref="Put"/> of
/// the last reference frees it. FOLL_PIN pins add <see cref="PinBias"/> (1024) to the count, so
/// "maybe DMA-pinned" is a count of 1024 or more (<c>page_maybe_dma_pinned</c>).</para>
/// <para>Counts and flags are touched only through <see cref="Interlocked"/> and <see cref="Volatile"/>,
/// so lockless walkers may race with them. The free list and the frontier are protected by <c>_allocLock</c>.</para>
/// <para>Reaching a free (or never used) frame through <see cref="Pointer"/> throws
/// <see cref="KiovBugException"/>. With <see cref="PagePoisoning"/> (on by default) a freed frame is
/// also filled with <see cref="PoisonByte"/>, and finding the poison disturbed when the frame is
/// reused throws too.</para>
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

    /// <summary>The largest memory: 1 TiB (the direct map's frame numbers stay an <c>int</c>).</summary>
    public const long MaxSize = 1L << 40;

    private const int CommitFrames = 512; // frames are committed 2 MiB at a time

    private byte* _base;
    private readonly AddressReservation? _frames;   // null when the caller owns the frames
    private readonly AddressReservation _metadata;
    private readonly int* _refcount;   // Interlocked
    private readonly int* _mapcount;   // Interlocked
    private readonly int* _flags;      // Interlocked (PageFlags); read through FlagsOf beyond the frontier
    private readonly PageOwner* _owner; // written by the allocator only
    private readonly int* _freeStack;  // guarded by _allocLock
    private readonly bool* _onFreeList; // guarded by _allocLock: exactly the frames in _freeStack
    private int _freeTop;               // guarded by _allocLock
    private int _frontier;              // written under _allocLock: frames at or above it were never handed out
    private long _allocFailures;        // Interlocked
    private readonly object _allocLock = new(); // a Monitor, as every lock of the model, so a scheduler can see it

    /// <summary>A machine of <paramref name="bytes"/> (rounded down to whole pages, at least 16
    /// pages, at most <see cref="MaxSize"/>) of physical memory, reserved as address space and
    /// committed as frames are first handed out. Frame 0 is reserved, so that <see cref="Page.Null"/>
    /// is never handed out.</summary>
    /// <param name="bytes">The size of physical memory.</param>
    public PhysicalMemory(long bytes = DefaultSize)
        : this(CheckSize(bytes), null)
    {
    }

    private PhysicalMemory(long bytes, byte* callerMemory)
    {
        FrameCount = (int)(bytes >> PageShift);
        if (callerMemory == null)
        {
            _frames = AddressReservation.Reserve((long)FrameCount << PageShift, usable: false);
            _base = _frames.Start;
        }
        else
        {
            _base = callerMemory;
        }
        long n = FrameCount;
        _metadata = AddressReservation.Reserve(n * (4 + 4 + 4 + 4 + sizeof(PageOwner) + sizeof(bool)), usable: true);
        byte* m = _metadata.Start;
        _refcount = (int*)m; m += n * 4;
        _mapcount = (int*)m; m += n * 4;
        _flags = (int*)m; m += n * 4;
        _freeStack = (int*)m; m += n * 4;
        _owner = (PageOwner*)m; m += n * sizeof(PageOwner);
        _onFreeList = (bool*)m;
        _refcount[0] = 1;
        _flags[0] = (int)PageFlags.Reserved;
        _owner[0] = PageOwner.Kernel;
        _frontier = 1;
    }

    /// <summary>Physical memory over native memory the caller owns, such as an embedder's guest
    /// RAM: frame <c>n</c> is the 4 KiB at <paramref name="start"/> + <c>n</c> * 4096, and the
    /// direct map (<see cref="DirectMapBase"/>) maps it. Kiov writes the memory (zeroing frames it
    /// hands out, poisoning frames freed) but never frees it: the caller keeps it valid, readable
    /// and writable until this is disposed, and frees it after. Frame 0 is reserved as always.</summary>
    /// <param name="start">The first byte: page aligned.</param>
    /// <param name="length">The length in bytes: a multiple of the page size, 16 pages to <see cref="MaxSize"/>.</param>
    /// <exception cref="ArgumentException">The memory is not page aligned or of a valid size.</exception>
    public static PhysicalMemory OverCallerMemory(byte* start, long length)
    {
        if (start == null || ((nuint)start & (PageSize - 1)) != 0)
            throw new ArgumentException("caller memory must start on a page boundary", nameof(start));
        if ((length & (PageSize - 1)) != 0)
            throw new ArgumentException("caller memory must be a whole number of pages", nameof(length));
        return new PhysicalMemory(CheckSize(length), start);
    }

    private static long CheckSize(long bytes) =>
        bytes < 16L * PageSize || bytes > MaxSize
            ? throw new ArgumentOutOfRangeException(nameof(bytes), "physical memory must be 64 KiB to 1 TiB")
            : bytes;

    /// <summary>The number of frames, frame 0 included.</summary>
    public int FrameCount { get; }

    /// <summary>The size of physical memory in bytes.</summary>
    public long Size => (long)FrameCount << PageShift;

    /// <summary>Frames free now: on the free list, or never handed out.</summary>
    public int FreeFrames { get { lock (_allocLock) return _freeTop + FrameCount - _frontier; } }

    /// <summary>Frames handed out at least once: the high-water mark of the memory in use.</summary>
    public int FramesTouched => Volatile.Read(ref _frontier);

    /// <summary>How many allocations found no free frame: nonzero once the machine truly ran out.</summary>
    public long AllocFailures => Interlocked.Read(ref _allocFailures);

    /// <summary>Page poisoning, the model's <c>CONFIG_PAGE_POISONING</c> (<c>page_poison=1</c>): when
    /// true (the default, and what every test runs with), a freed frame is filled with
    /// <see cref="PoisonByte"/> (<c>kernel_poison_pages</c>) and the poison is checked when the frame is
    /// reused (<c>check_poison_mem</c>), catching writes after free. It costs two passes over every
    /// page freed and reallocated; the kernel leaves it off by default, and so does <c>kiov bench</c>.
    /// Reaching a free frame through <see cref="Pointer"/> throws either way; frames freed while it was
    /// off are not checked when reused.</summary>
    public bool PagePoisoning { get; set; } = true;

    /// <summary>Allocates one frame with a reference count of one (<c>alloc_page</c>), zeroed when
    /// <paramref name="zero"/> (<c>__GFP_ZERO</c>). Returns <see cref="Page.Null"/> when memory is exhausted.</summary>
    public Page Alloc(PageOwner owner, bool zero = true)
    {
        int pfn;
        lock (_allocLock)
        {
            if (_freeTop > 0)
            {
                pfn = _freeStack[--_freeTop];
                _onFreeList[pfn] = false;
            }
            else if (!TryAdvanceFrontier(1))
            {
                return Failed();
            }
            else
            {
                pfn = _frontier - 1;
            }
        }
        return Prepare(pfn, owner, zero);
    }

    /// <summary>
    /// <c>alloc_pages_bulk</c>: fills <paramref name="pages"/> with the frames that as many calls of
    /// <see cref="Alloc"/> would hand out (each with a count of one, not zeroed), under one
    /// acquisition of the allocator's lock, but in the order they were freed rather than the reverse:
    /// frames freed one after another (a pipe's pages that a read let go, a batch handed back by
    /// <see cref="PutPages"/>) come back consecutive and ascending, so a copy through them is one
    /// piece per run of frames rather than one per page. Frame numbers are seen by no trace. Returns
    /// how many it got: fewer when memory runs out, and a failure is counted only when it got none
    /// (the call of <see cref="Alloc"/> that would have failed). Frames a caller ends up not using go
    /// back through <see cref="FreeUnused"/>.
    /// </summary>
    internal int AllocBulk(PageOwner owner, Span<Page> pages)
    {
        int got = 0;
        lock (_allocLock)
        {
            int fromList = Math.Min(pages.Length, _freeTop);
            int bottom = _freeTop - fromList;
            for (; got < fromList; got++)
            {
                int pfn = _freeStack[bottom + got];
                _onFreeList[pfn] = false;
                pages[got] = new Page(pfn);
            }
            _freeTop = bottom;
            int fresh = Math.Min(pages.Length - got, FrameCount - _frontier);
            if (fresh > 0 && TryAdvanceFrontier(fresh))
            {
                for (int pfn = _frontier - fresh; pfn < _frontier; pfn++)
                    pages[got++] = new Page(pfn);
            }
            else
            {
                // The host would not commit them all: as many as single calls would get.
                while (got < pages.Length && TryAdvanceFrontier(1)) pages[got++] = new Page(_frontier - 1);
            }
        }
        if (got == 0 && !pages.IsEmpty) Failed();
        for (int i = 0; i < got; i++) Prepare(pages[i].Pfn, owner, zero: false);
        return got;
    }

    /// <summary>
    /// Gives back frames from <see cref="AllocBulk"/> that were never used (never written, never
    /// referenced by anyone else), first first, so that the next <see cref="AllocBulk"/> gets the
    /// same frames in the same order, as if they had never been handed out.
    /// </summary>
    internal void FreeUnused(ReadOnlySpan<Page> pages)
    {
        for (int i = 0; i < pages.Length; i++)
        {
            int pfn = Check(pages[i]);
            int v = Interlocked.Decrement(ref _refcount[pfn]);
            if (v != 0) ThrowHelper.BadCount("free of an unused frame", pages[i], v);
            FreeFrame(pfn);
        }
    }

    /// <summary>
    /// <c>release_pages</c> (<c>folios_put</c>): drops one reference on each page, as
    /// <see cref="Put"/> of each in order would, and frees those whose count reaches zero under one
    /// acquisition of the allocator's lock (in the same order, so the free list is the same).
    /// </summary>
    internal void PutPages(ReadOnlySpan<Page> pages)
    {
        Span<int> freed = stackalloc int[pages.Length <= 64 ? pages.Length : 0];
        if (freed.Length != pages.Length)
        {
            foreach (Page page in pages) Put(page);
            return;
        }
        Prefetch(pages);
        int n = 0;
        foreach (Page page in pages)
        {
            int pfn = Check(page);
            DropPoint(pfn);
            int v = Interlocked.Add(ref _refcount[pfn], -1);
            if (v == 0) { MarkFree(pfn); freed[n++] = pfn; }
            else if (v < 0) ThrowHelper.BadCount("put_page", page, v);
        }
        if (n == 0) return;
        lock (_allocLock)
        {
            foreach (int pfn in freed[..n])
            {
                _freeStack[_freeTop++] = pfn;
                _onFreeList[pfn] = true;
            }
        }
    }

    /// <summary>
    /// Asks the CPU to fetch the reference counts of <paramref name="pages"/> (and, with
    /// <paramref name="forFree"/>, the flags and map counts that freeing reads) into its cache, all at
    /// once, before a batch of locked updates to them: a large copy in between has usually pushed them
    /// out, and a locked instruction lets no later load start until its own line is in, so without this
    /// the batch waits for each line in turn. Changes nothing the model can see.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Prefetch(ReadOnlySpan<Page> pages, bool forFree = false)
    {
        if (!Sse.IsSupported) return;
        int line = -1;
        foreach (Page page in pages)
        {
            uint pfn = (uint)page.Pfn;
            if (pfn >= (uint)FrameCount || (int)(pfn >> 4) == line) continue; // 16 counts a cache line
            line = (int)(pfn >> 4);
            Sse.Prefetch0(_refcount + pfn);
            if (!forFree) continue;
            Sse.Prefetch0(_flags + pfn);
            Sse.Prefetch0(_mapcount + pfn);
        }
    }

    /// <summary>
    /// <c>release_pages</c> of pages whose only reference the caller holds and that nothing else can
    /// reach: never mapped, in no cache (a pipe's own anonymous pages, under the pipe's lock), so no
    /// lockless walker can find one and no one can take a reference to it. Each count goes from one to
    /// zero and the page is freed, as <see cref="PutPages"/> would do, but without a locked instruction
    /// per page: nothing can race with these counts. A count other than one is the caller's bug and throws.
    /// </summary>
    internal void FreeSoleHeld(ReadOnlySpan<Page> pages)
    {
        Prefetch(pages, forFree: true);
        foreach (Page page in pages)
        {
            int pfn = Check(page);
            DropPoint(pfn);
            int v = Volatile.Read(ref _refcount[pfn]);
            if (v != 1) ThrowHelper.BadCount("free of a page held by others too", page, v);
            Volatile.Write(ref _refcount[pfn], 0);
            MarkFree(pfn);
        }
        if (pages.IsEmpty) return;
        lock (_allocLock)
        {
            foreach (Page page in pages)
            {
                _freeStack[_freeTop++] = page.Pfn;
                _onFreeList[page.Pfn] = true;
            }
        }
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
            for (int pfn = 1; pfn < _frontier; pfn++)
            {
                run = _onFreeList[pfn] ? run + 1 : 0;
                if (run == count) { first = pfn - count + 1; break; }
            }
            if (first < 0)
            {
                // The free run that ends at the frontier goes on into frames never handed out.
                first = _frontier - run;
                if (!TryAdvanceFrontier(count - run)) return Failed();
            }
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

    /// <summary>Moves the frontier up by <paramref name="frames"/> never-used frames, committing
    /// their memory if needed; they are free until <see cref="Prepare"/>. Under <c>_allocLock</c>.</summary>
    private bool TryAdvanceFrontier(int frames)
    {
        int target = _frontier + frames;
        if (frames > FrameCount - _frontier)
            return false;
        if (_frames is not null)
        {
            long commit = Math.Min((long)FrameCount, ((long)target + CommitFrames - 1) / CommitFrames * CommitFrames) << PageShift;
            if (!_frames.Commit(commit))
                return false;
        }
        for (int pfn = _frontier; pfn < target; pfn++)
            _flags[pfn] = (int)PageFlags.Free;
        Volatile.Write(ref _frontier, target);
        return true;
    }

    private Page Failed()
    {
        Interlocked.Increment(ref _allocFailures);
        return Page.Null;
    }

    private Page Prepare(int pfn, PageOwner owner, bool zero)
    {
        byte* p = _base + ((nint)pfn << PageShift);
        int flags = Volatile.Read(ref _flags[pfn]);
        if ((flags & (int)PageFlags.Free) == 0)
            ThrowHelper.BadFrame("allocator handed out a frame that is not free", pfn);
        if ((flags & (int)PageFlags.Poisoned) != 0
            && new ReadOnlySpan<byte>(p, PageSize).IndexOfAnyExcept(PoisonByte) >= 0)
            ThrowHelper.BadFrame("written after it was freed (poison disturbed)", pfn);
        if (zero) new Span<byte>(p, PageSize).Clear();
        _owner[pfn] = owner;
        Volatile.Write(ref _mapcount[pfn], 0);
        Volatile.Write(ref _refcount[pfn], 1);
        Volatile.Write(ref _flags[pfn], 0);
        return new Page(pfn);
    }

    private void FreeFrame(int pfn)
    {
        MarkFree(pfn);
        lock (_allocLock)
        {
            _freeStack[_freeTop++] = pfn;
            _onFreeList[pfn] = true;
        }
    }

    // The checks and the poisoning of __free_pages before the frame goes on the free list.
    private void MarkFree(int pfn)
    {
        int flags = Volatile.Read(ref _flags[pfn]);
        if ((flags & (int)PageFlags.Free) != 0) ThrowHelper.BadFrame("double free", pfn);
        if ((flags & (int)PageFlags.Reserved) != 0) ThrowHelper.BadFrame("free of a reserved frame", pfn);
        if (Volatile.Read(ref _mapcount[pfn]) != 0) ThrowHelper.BadFrame("freed while still mapped", pfn);
        bool poison = PagePoisoning;
        if (poison) new Span<byte>(_base + ((nint)pfn << PageShift), PageSize).Fill(PoisonByte);
        _owner[pfn] = PageOwner.None;
        Volatile.Write(ref _flags[pfn], (int)(poison ? PageFlags.Free | PageFlags.Poisoned : PageFlags.Free));
    }

    /// <summary>Takes a reference (<c>get_page</c>). The page must already be referenced.</summary>
    public void Get(Page page)
    {
        Sched.Point(SchedPoint.PageRef, (ulong)(uint)page.Pfn);
        int v = Interlocked.Increment(ref _refcount[Check(page)]);
        if (v <= 1) ThrowHelper.BadCount("get_page", page, v);
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

    // The scheduling point before a reference is dropped, marked as a drop: two drops commute, a drop
    // and a taking do not (the drop may free the frame first), so every path that drops says so here.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DropPoint(int pfn) => Sched.Point(SchedPoint.PageRef, (ulong)(uint)pfn | Sched.RefDropBit);

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
        DropPoint(pfn);
        int v = Interlocked.Add(ref _refcount[pfn], -delta);
        if (v == 0) FreeFrame(pfn);
        else if (v < 0) ThrowHelper.BadCount(what, page, v);
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
        int v = Interlocked.Decrement(ref _mapcount[Check(page)]);
        if (v < 0) ThrowHelper.BadCount("page_remove_rmap (mapcount)", page, v);
    }

    /// <summary>The page's flags (a frame never handed out is <see cref="PageFlags.Free"/>).</summary>
    public PageFlags Flags(Page page)
    {
        Sched.Point(SchedPoint.PageData, (ulong)(uint)page.Pfn);
        int pfn = Check(page);
        return pfn >= Volatile.Read(ref _frontier) ? PageFlags.Free : (PageFlags)Volatile.Read(ref _flags[pfn]);
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

    /// <summary>The frame's bytes without the check of <see cref="Pointer"/>: only for a frame the
    /// caller has just reached through <see cref="Pointer"/> and holds a reference to, so that it
    /// cannot have been freed since (a batch of pages checked once before one copy runs over them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte* CheckedBefore(Page page) => _base + ((nint)Check(page) << PageShift);

    /// <summary><see cref="Pointer"/> of a page-table frame: its entries are scheduling points of
    /// their own, so reaching the table is not one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* TablePointer(Page page)
    {
        int pfn = Check(page);
        if (pfn >= Volatile.Read(ref _frontier) || (Volatile.Read(ref _flags[pfn]) & (int)PageFlags.Free) != 0) ThrowUseAfterFree(page);
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
        int frontier = Volatile.Read(ref _frontier);
        for (int pfn = 1; pfn < frontier; pfn++)
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

    /// <summary>Gives back the reserved address space (the frames, unless the caller owns them,
    /// and the metadata).</summary>
    public void Dispose()
    {
        if (_base != null)
        {
            _base = null;
            _frames?.Dispose();
            _metadata.Dispose();
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Gives back the address space if <see cref="Dispose"/> was not called.</summary>
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
