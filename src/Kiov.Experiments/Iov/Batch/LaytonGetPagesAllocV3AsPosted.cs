using Kiov.Gup;
using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

// Jeff Layton's "[PATCH v3 1/2] iov_iter: allow iov_iter_get_pages_alloc to allocate more pages per call"
// (Feb 2017, never merged) as posted, bugs included. Its code is known here from the summary of the
// ceph-client carry of the patch (ceph-client 835347f00ba1, "[DO NOT MERGE] iov_iter: allow
// iov_iter_get_pages_alloc to allocate more pages per call") in the project's notes: the text itself is not
// in the searchable sources, so the two bugs follow that summary. LaytonGetPagesAllocV3.cs is the same
// idea with both fixed.
/// <summary>Jeff Layton's v3 <c>iov_iter_get_pages_alloc</c> as posted, bugs included, an experiment over <see cref="IovIter"/>.</summary>
internal static class LaytonGetPagesAllocV3AsPosted
{
    /// <summary>
    /// Jeff Layton's v3 patch 1/2 as posted: <c>iov_iter_pvec_size</c> sizes the array, then a second walk
    /// fills it. The sizing scan always counts the first piece, then any piece that starts at offset 0
    /// while the last COUNTED piece ended at a page end; a misaligned piece is skipped without clearing
    /// that flag, so an aligned piece after it is counted (bug 1). The fill walks the iterator's bytes in
    /// order for the counted total, one <c>get_user_pages_fast</c> per piece into the running array
    /// position; a piece that would overrun the array ends the fill with the bytes filled so far; a short
    /// GUP just moves the position by the pages it got and goes on (bug 2), so later pages fill the gap and
    /// the array's tail stays NULL while the count still claims every byte. A negative GUP drops every
    /// page taken and is returned. Does not advance. BVEC: pieces continue while each starts at offset 0
    /// after a page-end; one page and a reference each. KVEC, DISCARD and MANAGED: -EFAULT. PIPE, XARRAY
    /// and FOLIOQ give what the fixed version gives.
    /// </summary>
    /// <remarks>With either bug, <paramref name="pages"/> from <paramref name="start"/> on do not hold the
    /// bytes the iterator names: the caller would move the wrong bytes, and drop a NULL page.</remarks>
    internal static long GetPagesAllocV3AsPosted(this in IovIter iter, out Page[]? pages, ulong maxSize, out ulong start)
    {
        pages = null;
        start = 0;
        if (maxSize > iter._count) maxSize = iter._count;
        if (maxSize == 0) return 0;
        if (iter._type is not (IterType.Ubuf or IterType.Iovec)) return iter.GetPagesAllocV3(out pages, maxSize, out start);
        ulong total = PostedScan(iter, maxSize, out start);
        pages = new Page[PagesSpanned(start, total)];
        long r = PostedFill(iter, pages, total);
        if (r <= 0) pages = null;
        return r;
    }

    // iov_iter_pvec_size as posted: the "previous tail was page-aligned" flag is set by counted pieces only.
    private static ulong PostedScan(in IovIter iter, ulong maxSize, out ulong start)
    {
        start = 0;
        ulong total = 0;
        bool tailAligned = false, first = true;
        int seg = iter._seg;
        ulong skip = iter._iovOffset;
        while (total < maxSize && iter.NextUserPiece(ref seg, ref skip, first, out ulong addr, out ulong avail))
        {
            ulong len = Math.Min(avail, maxSize - total);
            if (first || (tailAligned && OffsetInPage(addr) == 0))
            {
                if (first) start = (ulong)OffsetInPage(addr);
                first = false;
                total += len;
                tailAligned = OffsetInPage(addr + len) == 0;
            }
            seg++;
            skip = 0;
        }
        return total;
    }

    // The fill as posted: walks the first 'total' bytes in order, whatever the scan counted.
    private static long PostedFill(in IovIter iter, Page[] pages, ulong total)
    {
        Foll foll = iter._dataSource ? Foll.None : Foll.Write;
        int idx = 0, seg = iter._seg;
        ulong skip = iter._iovOffset, walked = 0, filled = 0;
        bool first = true;
        while (walked < total && iter.NextUserPiece(ref seg, ref skip, first, out ulong addr, out ulong avail))
        {
            first = false;
            ulong len = Math.Min(avail, total - walked);
            int n = (int)PagesSpanned(addr, len);
            if (idx + n > pages.Length)
            {
                return idx == 0 ? -Errno.EFAULT : (long)filled; // the guard: what it has
            }
            int res = UserPages.GetUserPagesFast(iter._mm!, addr & PageMask, n, foll, pages.AsSpan(idx, n));
            if (res < 0)
            {
                UserPages.PutPages(iter._mm!.Memory, pages.AsSpan(0, idx));
                return res;
            }
            idx += res; // a short GUP is not the end of the run
            walked += len;
            filled += len;
            seg++;
            skip = 0;
        }
        return (long)filled;
    }
}
