using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

// The last step of Al Viro's staged plan: once the primitive stands on its own, iov_iter_get_pages() can
// be folded into it. This is that fold, kept beside the real GetPages2 so a test can compare the two on
// every kind; nothing else calls it.
/// <summary>The fold of <c>iov_iter_get_pages2</c> into Al Viro's primitive, an experiment beside the real one.</summary>
internal static class PrimitiveGetPages
{
    /// <summary>
    /// <see cref="IovIter.GetPages2"/> (<c>iov_iter_get_pages2</c>) written on top of Al Viro's proposed primitive
    /// (<see cref="IovIter.ForEachPageBatch{TConsumer}"/>): the request is first cut to what get_pages covers (the
    /// first non-empty user segment or bvec, <paramref name="maxPages"/> pages), then a consumer copies the
    /// batches' pages into <paramref name="pages"/> while they stay page-contiguous, keeping the FOLL_GET
    /// references of user pages and taking one on the iterator's own pages. Same results, references and
    /// iterator position as <see cref="IovIter.GetPages2"/>.
    /// </summary>
    internal static long GetPages2ViaPrimitive(this ref IovIter iter, Page[] pages, ulong maxSize, int maxPages, out ulong start)
    {
        start = 0;
        if (maxPages == 0) return 0;
        maxSize = Math.Min(Math.Min(maxSize, iter._count), IovLimits.MaxRwCount);
        if (maxSize == 0) return 0;
        ulong offset;
        switch (iter._type)
        {
            case IterType.Ubuf:
            case IterType.Iovec:
                offset = (ulong)OffsetInPage(iter.FirstIovecSegment(ref maxSize));
                break;
            case IterType.Bvec:
                iter.FirstBvecSegment(ref maxSize, out offset);
                break;
            case IterType.Xarray:
                offset = (ulong)(iter._xarrayStart + (long)iter._iovOffset) & (PageSize - 1);
                break;
            case IterType.FolioQ:
                offset = iter._iovOffset & (PageSize - 1);
                break;
            case IterType.Pipe:
                if (!iter.PipeSane()) return -Errno.EFAULT;
                iter.PipeDataStart(out _, out offset);
                break;
            default:
                return -Errno.EFAULT; // KVEC, DISCARD, MANAGED: get_pages refuses them
        }
        maxPages = Math.Min(maxPages, pages.Length);
        maxSize = Math.Min(maxSize, (ulong)maxPages * PageSize - offset);
        var collect = new GetPagesCollector(pages, maxPages, iter.PhysMem!);
        long r = iter.ForEachPageBatch(maxSize, ref collect, PageBatchFlags.GetRefs);
        start = collect.Start;
        return r;
    }

    // Copies batches into the caller's array while each continues the last at a page boundary; keeps the
    // references the primitive took on user pages, takes its own on the iterator's pages.
    private struct GetPagesCollector(Page[] dest, int max, PhysicalMemory memory) : IPageBatchConsumer
    {
        private int _n;
        private ulong _bytes;
        public ulong Start;

        public long Consume(scoped PageBatch batch)
        {
            if (_n != 0 && (batch.Offset != 0 || OffsetInPage(Start + _bytes) != 0)) return 0;
            if (_n == 0) Start = (ulong)batch.Offset;
            int room = max - _n;
            ulong take = Math.Min(batch.Bytes, (ulong)room * PageSize - (ulong)batch.Offset);
            int count = batch.PagesFor(take);
            for (int i = 0; i < count; i++)
            {
                Page p = batch[i];
                if (batch.Hold == BatchHold.None) memory.Get(p);
                dest[_n++] = p;
            }
            if (batch.Hold != BatchHold.None) batch.KeepPages(count);
            _bytes += take;
            return (long)take;
        }
    }
}
