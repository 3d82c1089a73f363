using System.Runtime.CompilerServices;
using Kiov.Memory;
using Kiov.Mm;

namespace Kiov.Gup;

public static partial class UserPages
{
    // try_grab_folio / try_grab_folio_fast for one order-0 page: a pin adds the 1024 bias, a get one
    // reference; both fail on a page whose count already reached zero (being freed).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryGrab(PhysicalMemory mem, Page page, Foll flags) =>
        (flags & Foll.Pin) != 0 ? mem.TryPin(page) : mem.TryGetUnlessZero(page);

    // gup_put_folio: gives back what TryGrab took.
    private static void Ungrab(PhysicalMemory mem, Page page, Foll flags)
    {
        if ((flags & Foll.Pin) != 0) mem.Unpin(page);
        else mem.Put(page);
    }

    /// <summary><c>put_page</c> for a page obtained with FOLL_GET.</summary>
    public static void PutPage(PhysicalMemory memory, Page page) => memory.Put(page);

    /// <summary><c>put_page</c> on each page of a FOLL_GET array (the release loop of GUP callers).</summary>
    public static void PutPages(PhysicalMemory memory, ReadOnlySpan<Page> pages)
    {
        foreach (Page p in pages) memory.Put(p);
    }

    /// <summary><c>unpin_user_page</c>: drops one FOLL_PIN pin.</summary>
    public static void UnpinUserPage(KernelSpace kernel, Page page)
    {
        if (page != kernel.ZeroPage) kernel.Memory.Unpin(page);  // the zero page is never pinned
        kernel.Counters.AddPinsReleased(1);
    }

    /// <summary><c>unpin_user_pages</c>: drops one pin on each page.</summary>
    public static void UnpinUserPages(KernelSpace kernel, ReadOnlySpan<Page> pages) => UnpinDirty(kernel, pages, false);

    /// <summary><c>unpin_user_pages_dirty_lock</c>: marks each page dirty first (under the page lock,
    /// <c>set_page_dirty_lock</c>) when <paramref name="makeDirty"/>, then unpins it; without it, as
    /// <see cref="UnpinUserPages"/>.</summary>
    public static void UnpinUserPagesDirtyLock(KernelSpace kernel, ReadOnlySpan<Page> pages, bool makeDirty) =>
        UnpinDirty(kernel, pages, makeDirty);

    /// <summary><c>unpin_user_page_range_dirty_lock</c>: <paramref name="count"/> physically consecutive
    /// pages from <paramref name="first"/>, each pinned once, dirtied when asked and unpinned.</summary>
    public static void UnpinUserPageRangeDirtyLock(KernelSpace kernel, Page first, int count, bool makeDirty)
    {
        PhysicalMemory mem = kernel.Memory;
        for (int i = 0; i < count; i++) ReleaseOne(mem, first.Nth(i), makeDirty, kernel.ZeroPage);
        kernel.Counters.AddPinsReleased(count);
    }

    private static void UnpinDirty(KernelSpace kernel, ReadOnlySpan<Page> pages, bool makeDirty)
    {
        PhysicalMemory mem = kernel.Memory;
        mem.Prefetch(pages);
        foreach (Page p in pages) ReleaseOne(mem, p, makeDirty, kernel.ZeroPage);
        kernel.Counters.AddPinsReleased(pages.Length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReleaseOne(PhysicalMemory mem, Page page, bool makeDirty, Page zeroPage)
    {
        if (page == zeroPage) return;  // gup_put_folio: the zero page was returned without a pin
        if (makeDirty && (mem.Flags(page) & PageFlags.Dirty) == 0) mem.SetFlags(page, PageFlags.Dirty);
        mem.Unpin(page);
    }
}
