using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

/// <summary>Qualifiers of <see cref="IovIter.ExtractPages"/> (<c>iov_iter_extraction_t</c>).</summary>
[Flags]
public enum ExtractionFlags
{
    /// <summary>No qualifier.</summary>
    None = 0,
    /// <summary><c>ITER_ALLOW_P2PDMA</c>: peer-to-peer DMA pages may be returned (FOLL_PCI_P2PDMA).</summary>
    AllowP2PDma = 1,
}

// Page getting. Every variant returns the bytes covered (the pages used being
// DIV_ROUND_UP(start + bytes, PAGE_SIZE)) or -errno, and 'start'/'offset0' is the offset of the data
// in the first page. Which kinds take references, which pin, and which take nothing is the kernel's.
public partial struct IovIter
{
    /// <summary>
    /// <c>iov_iter_get_pages2</c> (6.0+): references on the pages under the first non-empty segment,
    /// at most <paramref name="maxPages"/> of them and <paramref name="maxSize"/> bytes, and advances
    /// past what they cover. User kinds use <c>get_user_pages_fast</c> (FOLL_WRITE for a destination,
    /// FOLL_NOFAULT when <see cref="NoFault"/>); BVEC takes the pages of the current bvec only; FOLIOQ
    /// and XARRAY take references page by page; KVEC, DISCARD and MANAGED give -EFAULT.
    /// <paramref name="maxPages"/> 0 gives 0. The caller drops the references (<c>put_page</c>).
    /// </summary>
    public long GetPages2(Page[] pages, ulong maxSize, int maxPages, out ulong start)
    {
        start = 0;
        if (maxPages == 0) return 0;
        Page[]? p = pages;
        return GetPagesAdvancing(ref p, maxSize, maxPages, out start);
    }

    /// <summary><c>iov_iter_get_pages_alloc2</c>: as <see cref="GetPages2"/> with an array allocated to
    /// fit (no page limit); <paramref name="pages"/> is null unless the result is positive.</summary>
    public long GetPagesAlloc2(out Page[]? pages, ulong maxSize, out ulong start)
    {
        pages = null;
        long r = GetPagesAdvancing(ref pages, maxSize, int.MaxValue, out start);
        if (r <= 0) pages = null;
        return r;
    }

    /// <summary>
    /// The seed era's <c>iov_iter_get_pages</c> (before 6.0): as <see cref="GetPages2"/> but the
    /// iterator does NOT move (the caller advanced afterwards), and a BVEC gives one page piece at a
    /// time; a PIPE reserves buffers at the pipe's end and returns references to their pages. Exists
    /// only where <see cref="KernelConfig.NonAdvancingGetPages"/> is set; otherwise
    /// <see cref="InvalidOperationException"/>.
    /// </summary>
    public readonly long GetPages(Page[] pages, ulong maxSize, int maxPages, out ulong start)
    {
        Page[]? p = pages;
        return GetPagesNonAdvancing(ref p, maxSize, maxPages, out start);
    }

    /// <summary>The seed era's <c>iov_iter_get_pages_alloc</c>: as <see cref="GetPages"/>, the array
    /// allocated to fit the segment (one entry for a BVEC); null unless the result is positive.</summary>
    public readonly long GetPagesAlloc(out Page[]? pages, ulong maxSize, out ulong start)
    {
        pages = null;
        long r = GetPagesNonAdvancing(ref pages, maxSize, int.MaxValue, out start);
        if (r <= 0) pages = null;
        return r;
    }

    /// <summary>
    /// <c>iov_iter_extract_pages</c> (6.3+): lists the pages under the next bytes, at most
    /// <paramref name="maxPages"/> and <paramref name="maxSize"/> (clamped to the count and MAX_RW_COUNT),
    /// and advances past them. User kinds PIN (<c>pin_user_pages_fast</c>; the caller unpins); KVEC lists
    /// the pages of one segment per call (<c>virt_to_page</c>/<c>vmalloc_to_page</c>); BVEC chains
    /// page-sized pieces while each ends at a page end and the next starts at 0; FOLIOQ and XARRAY list
    /// pages; none of these take anything. DISCARD, PIPE and MANAGED give -EFAULT. When
    /// <paramref name="pages"/> is null an array of the size needed is allocated.
    /// </summary>
    public long ExtractPages(ref Page[]? pages, ulong maxSize, int maxPages, ExtractionFlags flags, out ulong offset0)
    {
        offset0 = 0;
        maxSize = Math.Min(Math.Min(maxSize, _count), IovLimits.MaxRwCount);
        if (maxSize == 0) return 0;
        return _type switch
        {
            IterType.Ubuf or IterType.Iovec => UserBackedPages(ref pages, maxSize, maxPages, pin: true, (flags & ExtractionFlags.AllowP2PDma) != 0, out offset0),
            IterType.Kvec => ExtractKvec(ref pages, maxSize, maxPages, out offset0),
            IterType.Bvec => ExtractBvec(ref pages, maxSize, maxPages, out offset0),
            IterType.FolioQ => FolioqPages(ref pages, maxSize, maxPages, takeRefs: false, out offset0),
            IterType.Xarray => XarrayPages(ref pages, maxSize, maxPages, takeRefs: false, out offset0),
            _ => -Errno.EFAULT,
        };
    }

    /// <summary><c>iov_iter_extract_will_pin</c>: true when <see cref="ExtractPages"/> pins (user-backed
    /// iterators), so the caller must <c>unpin_user_page</c>; false when it takes nothing.</summary>
    public readonly bool ExtractWillPin => IsUserBacked;

    // want_pages_array(): the pages that size bytes from start need, capped; the array allocated when absent.
    private static int WantPages(ref Page[]? pages, ulong size, ulong start, int maxPages)
    {
        long count = PagesSpanned(start, size);
        if (count > maxPages) count = maxPages;
        pages ??= new Page[count];
        return (int)count;
    }

    // __iov_iter_get_pages_alloc (6.0+).
    private long GetPagesAdvancing(ref Page[]? pages, ulong maxSize, int maxPages, out ulong start)
    {
        start = 0;
        maxSize = Math.Min(Math.Min(maxSize, _count), IovLimits.MaxRwCount);
        if (maxSize == 0) return 0;
        switch (_type)
        {
            case IterType.Ubuf:
            case IterType.Iovec:
                return UserBackedPages(ref pages, maxSize, maxPages, pin: false, p2p: false, out start);
            case IterType.Bvec:
            {
                Page page = FirstBvecSegment(ref maxSize, out start);
                int n = WantPages(ref pages, maxSize, start, maxPages);
                PhysicalMemory mem = _kernel!.Memory;
                for (int k = 0; k < n; k++)
                {
                    pages![k] = page.Nth(k);
                    mem.Get(pages[k]);
                }
                maxSize = Math.Min(maxSize, (ulong)n * PageSize - start);
                _count -= maxSize;
                _iovOffset += maxSize;
                if (_iovOffset == _bvec![_seg].Len) { _iovOffset = 0; _seg++; _nrSegs--; }
                return (long)maxSize;
            }
            case IterType.FolioQ:
                return FolioqPages(ref pages, maxSize, maxPages, takeRefs: true, out start);
            case IterType.Xarray:
                return XarrayPages(ref pages, maxSize, maxPages, takeRefs: true, out start);
            case IterType.Pipe:
            {
                // 6.0 to 6.4: the pipe's pages are reserved and the iterator moved over them.
                long r = PipeGetPages(ref pages, maxSize, maxPages, out start);
                if (r > 0) PipeAdvance((ulong)r);
                return r;
            }
            default:
                return -Errno.EFAULT;
        }
    }

    // The pre-6.0 iov_iter_get_pages{,_alloc}: the same pages, without moving the iterator.
    private readonly long GetPagesNonAdvancing(ref Page[]? pages, ulong maxSize, int maxPages, out ulong start)
    {
        KernelConfig config = (_kernel ?? _mm?.Kernel)?.Config ?? KernelConfig.Current;
        if (!config.NonAdvancingGetPages)
            throw new InvalidOperationException($"the non-advancing iov_iter_get_pages does not exist in kernel {config.Name}");
        start = 0;
        if (maxSize > _count) maxSize = _count;
        switch (_type)
        {
            case IterType.Pipe:
                return PipeGetPages(ref pages, maxSize, maxPages, out start);
            case IterType.Bvec:
            {
                // One single-page piece of the first non-empty bvec within maxSize.
                if (maxSize == 0) return 0;
                int seg = _seg;
                ulong skip = _iovOffset;
                while (_bvec![seg].Len == skip) { seg++; skip = 0; }
                BioVec b = _bvec[seg];
                ulong offset = b.Offset + skip;
                start = (ulong)OffsetInPage(offset);
                ulong len = Math.Min(Math.Min(maxSize, b.Len - skip), PageSize - start);
                pages ??= new Page[1];
                pages[0] = b.Page.Nth((int)(offset >> PageShift));
                _kernel!.Memory.Get(pages[0]);
                return (long)len;
            }
            case IterType.Kvec:
            case IterType.Discard:
            case IterType.Managed:
                return -Errno.EFAULT;
            default:
                IovIter scratch = this; // the walk is the 6.0 one; only the advance differs
                return scratch.GetPagesAdvancing(ref pages, maxSize, maxPages, out start);
        }
    }

    // first_bvec_segment(): the page and offset of the current position; maxSize clamped to the bvec.
    internal readonly Page FirstBvecSegment(ref ulong maxSize, out ulong start)
    {
        BioVec b = _bvec![_seg];
        ulong skip = _iovOffset;
        maxSize = Math.Min(maxSize, b.Len - skip);
        skip += b.Offset;
        start = skip % PageSize;
        return b.Page.Nth((int)(skip >> PageShift));
    }

    // iov_iter_extract_kvec_pages(): one segment per call, empty segments skipped.
    private long ExtractKvec(ref Page[]? pages, ulong maxSize, int maxPages, out ulong offset0)
    {
        offset0 = 0;
        ulong size;
        while (true)
        {
            if (_nrSegs == 0) return 0;
            size = Math.Min(maxSize, _iov![_seg].Len - _iovOffset);
            if (size != 0) break;
            _iovOffset = 0;
            _nrSegs--;
            _seg++;
        }
        ulong kaddr = _iov[_seg].Base + _iovOffset;
        ulong offset = (ulong)OffsetInPage(kaddr);
        offset0 = offset;
        int n = WantPages(ref pages, size, offset, maxPages);
        kaddr -= offset;
        for (int k = 0; k < n; k++, kaddr += PageSize) pages![k] = _kernel!.VirtToPage(kaddr);
        size = Math.Min(size, (ulong)n * PageSize - offset);
        Advance(size);
        return (long)size;
    }

    // iov_iter_extract_bvec_pages(): page-sized pieces from the current bvec on, chained while each piece
    // ends at its page's end and the next starts at offset 0 (only the first page may have an offset).
    private long ExtractBvec(ref Page[]? pages, ulong maxSize, int maxPages, out ulong offset0)
    {
        offset0 = 0;
        if (_nrSegs == 0) return 0;
        if (_iovOffset == _bvec![_seg].Len) { _iovOffset = 0; _nrSegs--; _seg++; }
        ulong skip = _iovOffset, left = maxSize, size = 0;
        int n = WantPages(ref pages, maxSize, skip, maxPages);
        int idx = 0, k = 0;
        while (left != 0 && idx < _nrSegs)
        {
            BioVec b = _bvec[_seg + idx];
            ulong at = b.Offset + skip;
            ulong off = (ulong)OffsetInPage(at);
            ulong len = Math.Min(Math.Min(left, b.Len - skip), PageSize - off);
            if (k != 0) { if (off != 0) break; }
            else offset0 = off;
            pages![k++] = b.Page.Nth((int)(at >> PageShift));
            size += len;
            if (k >= n || off + len != PageSize) break;
            skip += len;
            left -= len;
            if (skip == b.Len) { idx++; skip = 0; }
        }
        Advance(size);
        return (long)size;
    }

    // iter_folioq_get_pages() / iov_iter_extract_folioq_pages(): page by page through the folios.
    private long FolioqPages(ref Page[]? pages, ulong maxSize, int maxPages, bool takeRefs, out ulong offset0)
    {
        FolioQueue q = _folioq!;
        int slot = _seg;
        if (slot >= q.NrSlots)
        {
            q = q.Next ?? throw new KiovBugException("ITER_FOLIOQ at the end of its last segment");
            slot = 0;
            if (_iovOffset != 0) { offset0 = 0; return -Errno.EIO; }
        }
        offset0 = _iovOffset & (PageSize - 1);
        int n = WantPages(ref pages, maxSize, offset0, maxPages);
        ulong extracted = 0;
        int nr = 0;
        while (true)
        {
            Page folio = q.Folio(slot);
            ulong offset = _iovOffset, fsize = q.FolioSize(slot);
            if (offset < fsize)
            {
                ulong part = Math.Min(PageSize - offset % PageSize, Math.Min(maxSize - extracted, fsize - offset));
                _count -= part;
                _iovOffset += part;
                extracted += part;
                Page p = folio.Nth((int)(offset >> PageShift));
                if (takeRefs) _kernel!.Memory.Get(p);
                pages![nr++] = p;
            }
            if (nr >= n || extracted >= maxSize) break;
            if (_iovOffset >= fsize)
            {
                _iovOffset = 0;
                slot++;
                if (slot == q.NrSlots && q.Next != null) { q = q.Next; slot = 0; }
            }
        }
        _folioq = q;
        _seg = slot;
        return (long)extracted;
    }

    // iter_xarray_get_pages() / iov_iter_extract_xarray_pages(): consecutive cached pages from the
    // position until a hole or the array is full.
    private long XarrayPages(ref Page[]? pages, ulong maxSize, int maxPages, bool takeRefs, out ulong offset0)
    {
        long pos = _xarrayStart + (long)_iovOffset;
        long index = pos >> PageShift;
        offset0 = (ulong)(pos & (PageSize - 1));
        int n = WantPages(ref pages, maxSize, offset0, maxPages);
        int nr = 0;
        while (nr < n)
        {
            Page p = takeRefs ? _xarray!.FindGet(index + nr) : _xarray!.Find(index + nr);
            if (p.IsNull) break;
            pages![nr++] = p;
        }
        if (nr == 0) return 0;
        maxSize = Math.Min((ulong)nr * PageSize - offset0, maxSize);
        _iovOffset += maxSize;
        _count -= maxSize;
        return (long)maxSize;
    }
}
