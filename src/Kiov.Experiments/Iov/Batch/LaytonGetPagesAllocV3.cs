using Kiov.Gup;
using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

// Jeff Layton's "[PATCH v3 1/2] iov_iter: allow iov_iter_get_pages_alloc to allocate more pages per call"
// (Feb 2017, never merged), with the two weaknesses of the posted code fixed: its sizing scan skipped a
// misaligned segment yet kept counting later ones, and a short get_user_pages_fast in the middle did not
// end the run. Here the scan and the fill follow one rule and stop at the first discontinuity, and a short
// GUP ends the run with every page it returned kept and counted.
/// <summary>Jeff Layton's v3 <c>iov_iter_get_pages_alloc</c> with its two bugs fixed, an experiment over <see cref="IovIter"/>.</summary>
internal static class LaytonGetPagesAllocV3
{
    /// <summary>
    /// Jeff Layton's v3 patch 1/2: <c>iov_iter_get_pages_alloc</c> that allocates more pages per call. Scans
    /// ahead up to <paramref name="maxSize"/> (clamped to the count), continuing into the next segment only
    /// while the previous piece ends exactly at a page end and the next starts at offset 0; allocates one
    /// array sized by that scan; fills it with FOLL_GET references (<c>get_user_pages_fast</c> per user
    /// segment, FOLL_WRITE for a destination; a reference per BVEC page). Like the 2017 call it does NOT
    /// advance the iterator. A short GUP ends the run: the bytes returned cover exactly the pages obtained.
    /// Returns the bytes and <paramref name="start"/>, the data's offset in the first page, or -errno when
    /// not one page was obtained (KVEC, DISCARD and MANAGED: -EFAULT). PIPE, XARRAY and FOLIOQ are one run
    /// already and give what get_pages_alloc gives. The caller drops the references (<c>put_page</c>) of
    /// the DIV_ROUND_UP(start + bytes, PAGE_SIZE) pages used; <paramref name="pages"/> is null unless the
    /// result is positive.
    /// </summary>
    internal static long GetPagesAllocV3(this in IovIter iter, out Page[]? pages, ulong maxSize, out ulong start)
    {
        pages = null;
        start = 0;
        if (maxSize > iter._count) maxSize = iter._count;
        if (maxSize == 0) return 0;
        switch (iter._type)
        {
            case IterType.Ubuf:
            case IterType.Iovec:
                return V3User(iter, out pages, maxSize, out start);
            case IterType.Bvec:
                return V3Bvec(iter, out pages, maxSize, out start);
            case IterType.Pipe:
            case IterType.Xarray:
            case IterType.FolioQ:
            {
                IovIter scratch = iter; // the reservation and references of get_pages_alloc; the position stays
                return scratch.GetPagesAlloc2(out pages, maxSize, out start);
            }
            default:
                return -Errno.EFAULT;
        }
    }

    // The contiguous run of user pieces from the position, up to maxSize: piece k > 0 starts at offset 0
    // and follows a piece that ended at a page end. With an empty 'fill' it only sizes the run (the
    // patch's iov_iter_pvec_size); otherwise it takes references into 'fill' piece by piece and stops at
    // the first short GUP. Returns the bytes covered.
    private static ulong V3UserRun(in IovIter iter, ulong maxSize, Span<Page> fill, out ulong start, out int pagesGot, out int error)
    {
        start = 0;
        pagesGot = 0;
        error = 0;
        ulong total = 0;
        int seg = iter._seg;
        ulong skip = iter._iovOffset;
        bool filling = !fill.IsEmpty;
        Foll foll = iter._dataSource ? Foll.None : Foll.Write;
        while (total < maxSize)
        {
            if (!iter.NextUserPiece(ref seg, ref skip, total == 0, out ulong addr, out ulong avail)) break;
            int off = OffsetInPage(addr);
            if (total != 0 && !IovIter.ContinuesRun(start + total, off)) break;
            if (total == 0) start = (ulong)off;
            ulong len = Math.Min(avail, maxSize - total);
            if (filling)
            {
                int want = (int)PagesSpanned(addr, len);
                int got = UserPages.GetUserPagesFast(iter._mm!, addr & PageMask, want, foll, fill.Slice(pagesGot, want));
                if (got <= 0)
                {
                    if (pagesGot == 0) error = got < 0 ? got : -Errno.EFAULT;
                    break;
                }
                pagesGot += got;
                if (got < want)
                {
                    total += (ulong)got * PageSize - (ulong)off; // a short pin ends the run
                    break;
                }
            }
            total += len;
            if (len < avail) break;
            seg++;
            skip = 0;
        }
        return total;
    }

    private static long V3User(in IovIter iter, out Page[]? pages, ulong maxSize, out ulong start)
    {
        ulong size = V3UserRun(iter, maxSize, default, out start, out _, out _);
        pages = new Page[PagesSpanned(start, size)];
        ulong got = V3UserRun(iter, size, pages, out start, out int n, out int error);
        if (n == 0)
        {
            pages = null;
            return error;
        }
        return (long)got;
    }

    // Bvecs chained while each ends at a page end and the next starts at offset 0; a reference per page.
    private static long V3Bvec(in IovIter iter, out Page[]? pages, ulong maxSize, out ulong start)
    {
        start = 0;
        ulong total = 0;
        int last = iter._seg;
        ulong skip = iter._iovOffset;
        for (int seg = iter._seg; seg < iter._seg + iter._nrSegs && total < maxSize; seg++, skip = 0)
        {
            BioVec b = iter._bvec![seg];
            if (b.Len == skip) continue;
            ulong at = b.Offset + skip;
            if (total != 0 && !IovIter.ContinuesRun(start + total, OffsetInPage(at))) break;
            if (total == 0) start = (ulong)OffsetInPage(at);
            ulong len = Math.Min(b.Len - skip, maxSize - total);
            total += len;
            last = seg;
            if (len < b.Len - skip) break;
        }
        pages = new Page[PagesSpanned(start, total)];
        PhysicalMemory mem = iter._kernel!.Memory;
        int k = 0;
        ulong left = total;
        skip = iter._iovOffset;
        for (int seg = iter._seg; seg <= last && left != 0; seg++, skip = 0)
        {
            BioVec b = iter._bvec![seg];
            if (b.Len == skip) continue;
            ulong at = b.Offset + skip;
            ulong len = Math.Min(b.Len - skip, left);
            int first = (int)(at >> PageShift), n = (int)PagesSpanned(at, len);
            for (int i = 0; i < n; i++)
            {
                Page p = b.Page.Nth(first + i);
                mem.Get(p);
                pages[k++] = p;
            }
            left -= len;
        }
        return (long)total;
    }
}
