namespace Kiov.Memory;

/// <summary>
/// A page frame, named by its frame number: what the kernel hands around as <c>struct page *</c>.
/// Frame 0 is reserved and never allocated, so <c>default(Page)</c> is the null page.
/// </summary>
/// <param name="Pfn">The page frame number.</param>
public readonly record struct Page(int Pfn)
{
    /// <summary>The null page (<c>NULL</c>).</summary>
    public static Page Null => default;

    /// <summary>True for the null page.</summary>
    public bool IsNull => Pfn == 0;

    /// <summary>The page <paramref name="n"/> frames further on (<c>nth_page</c>).</summary>
    public Page Nth(int n) => new(Pfn + n);

    /// <inheritdoc/>
    public override string ToString() => $"pfn {Pfn}";
}

/// <summary>Page-size constants (x86-64, 4 KiB pages).</summary>
public static class PageGeometry
{
    /// <summary><c>PAGE_SHIFT</c>.</summary>
    public const int PageShift = 12;
    /// <summary><c>PAGE_SIZE</c>.</summary>
    public const int PageSize = 1 << PageShift;
    /// <summary><c>PAGE_MASK</c>: clears the offset within a page.</summary>
    public const ulong PageMask = ~(ulong)(PageSize - 1);

    /// <summary><c>offset_in_page(addr)</c>.</summary>
    public static int OffsetInPage(ulong addr) => (int)(addr & (PageSize - 1));

    /// <summary><c>PAGE_ALIGN(addr)</c> without overflow: false when rounding up wraps past 2^64.</summary>
    public static bool TryPageAlign(ulong len, out ulong aligned)
    {
        aligned = (len + PageSize - 1) & PageMask;
        return aligned >= len;
    }

    /// <summary><c>DIV_ROUND_UP(offset + len, PAGE_SIZE)</c>: the pages that [offset, offset+len) touches.</summary>
    public static long PagesSpanned(ulong addr, ulong len) =>
        len == 0 ? 0 : (long)(((addr & (PageSize - 1)) + len + PageSize - 1) >> PageShift);
}

/// <summary>Flags of a page frame (the kernel's <c>page->flags</c> bits the model needs).</summary>
[Flags]
public enum PageFlags
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>The frame is on the free list (model-only: a use is a bug).</summary>
    Free = 1 << 0,
    /// <summary><c>PG_reserved</c>: never freed (kernel page tables, frame 0).</summary>
    Reserved = 1 << 1,
    /// <summary><c>PG_table</c>: the frame holds a page table.</summary>
    PageTable = 1 << 2,
    /// <summary><c>PG_dirty</c>.</summary>
    Dirty = 1 << 3,
    /// <summary><c>PG_locked</c>.</summary>
    Locked = 1 << 4,
    /// <summary><c>PageAnon</c>: an anonymous page.</summary>
    Anon = 1 << 5,
    /// <summary>A page-cache page (<c>page->mapping</c> is a file).</summary>
    PageCache = 1 << 6,
    /// <summary>The poison pattern was written when the frame was freed (model-only).</summary>
    Poisoned = 1 << 7,
    /// <summary><c>PG_uptodate</c>.</summary>
    Uptodate = 1 << 8,
    /// <summary><c>PG_anon_exclusive</c> (<c>PageAnonExclusive</c>, 5.19+): this anonymous page is
    /// mapped by one process only, which may write it without copying and may pin it. Set on a new
    /// anonymous page and on a copy-on-write copy, cleared when fork shares the page.</summary>
    AnonExclusive = 1 << 9,
}

/// <summary>Who allocated a frame: shown by the leak report.</summary>
public enum PageOwner : byte
{
    /// <summary>Free.</summary>
    None,
    /// <summary>The kernel's own page tables and reserved frames.</summary>
    Kernel,
    /// <summary>A page table of a user address space.</summary>
    PageTable,
    /// <summary>An anonymous user page.</summary>
    Anon,
    /// <summary>A page of a file's page cache.</summary>
    PageCache,
    /// <summary>A pipe buffer page.</summary>
    Pipe,
    /// <summary>A kernel buffer (<c>kmalloc</c>/<c>alloc_page</c> by a driver or a test).</summary>
    KernelBuffer,
}
