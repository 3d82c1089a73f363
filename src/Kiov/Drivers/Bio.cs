using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Drivers;

/// <summary>How <see cref="Bio.IovIterGetPages"/> fills a bio from an iterator, by era.</summary>
internal enum BioGetPages
{
    /// <summary>4.10 block/bio.c: one non-advancing <c>iov_iter_get_pages</c> into the bio's vec space
    /// (one segment), FOLL_GET references, a bvec per page, then <c>iov_iter_advance</c>; the caller
    /// makes one bio per call.</summary>
    GetPages2017,
    /// <summary>6.x block/bio.c: <c>__bio_iov_iter_get_pages</c> in a loop until the bio is full, each
    /// an <c>iov_iter_extract_pages</c> (FOLL_PIN for user memory, BIO_PAGE_PINNED), trimmed to the
    /// logical block size, physically contiguous pages merged into one bvec.</summary>
    ExtractPages,
    /// <summary>The same loop converted to Al Viro's primitive: one <c>ForEachPageBatch</c> call whose
    /// consumer adds pages to the bio and stops when it is full.</summary>
    Primitive,
}

/// <summary>
/// A block I/O request (<c>struct bio</c>): up to <see cref="MaxVecs"/> page pieces, the bytes they
/// cover, and what its pages carry (<c>BIO_PAGE_PINNED</c> or a reference), released when the I/O completes.
/// </summary>
internal sealed class Bio
{
    /// <summary><c>BIO_MAX_VECS</c>.</summary>
    public const int MaxVecs = 256;

    private readonly BioVec[] _vecs;

    /// <summary>A bio with room for <paramref name="maxVecs"/> pieces (<c>bio_alloc</c>) on <paramref name="kernel"/>'s memory.</summary>
    public Bio(KernelSpace kernel, int maxVecs)
    {
        _kernel = kernel;
        _vecs = new BioVec[maxVecs];
    }

    /// <summary><c>bi_max_vecs</c>.</summary>
    public int MaxVecCount => _vecs.Length;
    /// <summary><c>bi_vcnt</c>.</summary>
    public int VecCount { get; private set; }
    /// <summary><c>bi_iter.bi_size</c>.</summary>
    public ulong Size { get; private set; }
    /// <summary><c>BIO_PAGE_PINNED</c>: the pages carry FOLL_PIN pins.</summary>
    public bool PagePinned { get; private set; }
    /// <summary>The pages carry FOLL_GET references (the pre-6.3 way).</summary>
    public bool PageRefs { get; private set; }
    /// <summary>The pieces.</summary>
    public ReadOnlySpan<BioVec> Vecs => _vecs.AsSpan(0, VecCount);
    /// <summary><c>bio_full(bio, 0)</c>.</summary>
    public bool Full => VecCount == _vecs.Length;

    // bio_add_page with bvec_try_merge_page: a piece that continues the last bvec in the same or the
    // physically next frame is merged into it, else it takes a new bvec. False when the bio is full.
    private bool AddPage(Page page, uint len, uint offset)
    {
        if (VecCount > 0)
        {
            BioVec last = _vecs[VecCount - 1];
            ulong lastEnd = ((ulong)last.Page.Pfn << PageShift) + last.Offset + last.Len;
            if (lastEnd == ((ulong)page.Pfn << PageShift) + offset)
            {
                _vecs[VecCount - 1] = last with { Len = last.Len + len };
                Size += len;
                return true;
            }
        }
        if (Full) return false;
        _vecs[VecCount++] = new BioVec(page, len, offset);
        Size += len;
        return true;
    }

    /// <summary>
    /// <c>bio_iov_iter_get_pages</c>: fills the bio from <paramref name="iter"/> the way
    /// <paramref name="method"/> does and advances the iterator over what the bio holds. Returns 0, or
    /// -errno when the bio got nothing. <paramref name="logicalBlockSize"/> trims each extraction to whole
    /// blocks (6.x); <paramref name="scratch"/> holds the page pointers (the kernel uses the bio's own vec space).
    /// </summary>
    public long IovIterGetPages(ref IovIter iter, BioGetPages method, uint logicalBlockSize, Page[] scratch)
    {
        switch (method)
        {
            case BioGetPages.GetPages2017:
            {
                long size = iter.GetPages(scratch, long.MaxValue, MaxVecCount - VecCount, out ulong offset);
                ApiCalls++;
                if (size <= 0) return size != 0 ? size : -Errno.EFAULT;
                PageRefs = true;
                int n = (int)PagesSpanned(offset, (ulong)size);
                _held.AddRange(scratch.AsSpan(0, n));
                ulong left = (ulong)size;
                for (int i = 0; i < n; i++)
                {
                    uint len = (uint)Math.Min(left, PageSize - (i == 0 ? offset : 0));
                    _vecs[VecCount++] = new BioVec(scratch[i], len, i == 0 ? (uint)offset : 0);
                    Size += len;
                    left -= len;
                }
                iter.Advance((ulong)size);
                return 0;
            }
            case BioGetPages.ExtractPages:
            {
                if (iter.ExtractWillPin) PagePinned = true;
                long ret;
                do ret = ExtractOnce(ref iter, logicalBlockSize, scratch);
                while (ret == 0 && iter.Count != 0 && !Full);
                return VecCount != 0 ? 0 : ret;
            }
            default:
            {
                var filler = new BioFiller(this, logicalBlockSize);
                long took = iter.ForEachPageBatch(uint.MaxValue - Size, ref filler);
                ApiCalls++;
                return VecCount != 0 ? 0 : took < 0 ? took : -Errno.EFAULT;
            }
        }
    }

    // __bio_iov_iter_get_pages: one extraction into the room left, trimmed to whole logical blocks; the
    // pages not used are released (bio_release_page).
    private long ExtractOnce(ref IovIter iter, uint lbs, Page[] scratch)
    {
        Page[]? pages = scratch;
        long size = iter.ExtractPages(ref pages, uint.MaxValue - Size, MaxVecCount - VecCount, ExtractionFlags.None, out ulong offset);
        ApiCalls++;
        if (size <= 0) return size != 0 ? size : -Errno.EFAULT;
        int nr = (int)PagesSpanned(offset, (ulong)size);
        ulong trim = (ulong)size & (lbs - 1);
        iter.Revert(trim);
        ulong left = (ulong)size - trim;
        int i = 0;
        long ret = left == 0 ? -Errno.EFAULT : 0;
        for (; left > 0; i++)
        {
            uint len = (uint)Math.Min(left, PageSize - offset);
            AddPage(scratch[i], len, (uint)offset);
            left -= len;
            offset = 0;
        }
        // Pages past the trim are given back now (bio_release_page); a page merged into the previous
        // bvec keeps its own pin, released with the bio like every other.
        if (PagePinned) for (int j = i; j < nr; j++) UserPages.UnpinUserPage(_kernel, scratch[j]);
        if (PagePinned) _held.AddRange(scratch.AsSpan(0, i));
        return ret;
    }

    // Every page a pin or reference is held on: bio_release_pages walks the bvecs page by page, which
    // comes to these pages.
    private readonly List<Page> _held = [];
    private readonly KernelSpace _kernel;

    /// <summary>Calls into the page-getting API made to fill this bio.</summary>
    public int ApiCalls { get; private set; }

    /// <summary>Pages the bio holds a pin or reference on (a page split across two bvecs counts twice).</summary>
    public int PagesHeld => _held.Count;

    /// <summary><c>bio_release_pages</c> at completion: for a read into user memory each page is marked
    /// dirty first (<paramref name="markDirty"/>), then unpinned (BIO_PAGE_PINNED) or put.</summary>
    public void ReleasePages(bool markDirty)
    {
        PhysicalMemory mem = _kernel.Memory;
        foreach (Page p in _held)
        {
            if (markDirty && (mem.Flags(p) & PageFlags.Dirty) == 0) mem.SetFlags(p, PageFlags.Dirty);
            if (PagePinned) UserPages.UnpinUserPage(_kernel, p);
            else mem.Put(p);
        }
        _held.Clear();
    }

    // The primitive's consumer: adds each page of the batch to the bio until it is full, keeps the pins
    // of the pages it used, and reports whole logical blocks taken.
    private struct BioFiller(Bio bio, uint lbs) : IPageBatchConsumer
    {
        public long Consume(scoped PageBatch batch)
        {
            ulong took = 0;
            int room = bio.MaxVecCount - bio.VecCount;
            for (int i = 0; i < batch.Count && i < room; i++) took += (ulong)batch.LengthOf(i);
            took -= took & (lbs - 1);
            if (took == 0) return 0;
            int used = batch.PagesFor(took);
            if (batch.Hold == BatchHold.Pin) bio.PagePinned = true;
            else if (batch.Hold == BatchHold.Ref) bio.PageRefs = true;
            ulong left = took;
            for (int i = 0; i < used; i++)
            {
                uint off = i == 0 ? (uint)batch.Offset : 0;
                uint len = (uint)Math.Min(left, (ulong)(PageSize - off));
                bio.AddPage(batch[i], len, off);
                if (batch.Hold != BatchHold.None) bio._held.Add(batch[i]);
                left -= len;
            }
            if (batch.Hold != BatchHold.None) batch.KeepPages(used);
            return (long)took;
        }
    }
}
