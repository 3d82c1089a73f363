using System.Buffers;
using Kiov.Gup;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

/// <summary>How <see cref="DirectIo.IterGetBvecsAlloc"/> gets its pages.</summary>
internal enum DioVectorMethod
{
    /// <summary>ceph's <c>__iter_get_bvecs</c>: a loop of <c>iov_iter_get_pages2</c> through a 64-page
    /// array (<c>ITER_GET_BVECS_PAGES</c>): FOLL_GET references on every kind, -EFAULT on KVEC.</summary>
    GetPages2Loop,
    /// <summary>Al Viro's proposed primitive (<see cref="IovIter.ForEachPageBatch{TConsumer}"/>): user
    /// pages pinned as <c>netfs_extract_user_iter</c> / <c>iov_iter_extract_pages</c> pin them; the
    /// iterator's own pages listed with nothing taken, KVEC included.</summary>
    Primitive,
}

/// <summary>
/// The page vector of one direct I/O request (ceph's <c>bio_vec</c> array from <c>iter_get_bvecs_alloc</c>,
/// or the BVEC iterator <c>netfs_extract_user_iter</c> builds): one <see cref="BioVec"/> per page piece,
/// and what the pages carry until the request completes.
/// </summary>
internal sealed class DioPageVector
{
    private readonly KernelSpace _kernel;
    private bool _released;

    internal DioPageVector(KernelSpace kernel, BioVec[] bvecs, int count, ulong bytes, BatchHold hold)
    {
        _kernel = kernel;
        Bvecs = bvecs;
        Count = count;
        Bytes = bytes;
        Hold = hold;
    }

    /// <summary>The pieces (<c>bvecs</c>); the first <see cref="Count"/> are filled.</summary>
    public BioVec[] Bvecs { get; }

    /// <summary>The pieces filled (<c>num_bvecs</c> counts the array, of which these are set).</summary>
    public int Count { get; }

    /// <summary>The bytes the pieces cover.</summary>
    public ulong Bytes { get; }

    /// <summary>What each page carries: a reference (get_pages), a pin (extraction) or nothing.</summary>
    public BatchHold Hold { get; }

    /// <summary><c>iov_iter_bvec</c> over the pieces: how the request's data is moved (by the "device").</summary>
    public IovIter AsIter(bool source) => IovIter.Bvec(source, _kernel, Bvecs, Count, Bytes);

    /// <summary>
    /// ceph's <c>put_bvecs</c> (with the FOLL_PIN branch of its <c>from_gup</c> variant): marks each page
    /// dirty first when <paramref name="dirty"/> (a read into user memory), then drops the reference or
    /// the pin; pages that carry nothing are left alone. Once only.
    /// </summary>
    public void Put(bool dirty)
    {
        if (_released) throw new InvalidOperationException("page vector already released");
        _released = true;
        PhysicalMemory mem = _kernel.Memory;
        for (int i = 0; i < Count; i++)
        {
            Page p = Bvecs[i].Page;
            switch (Hold)
            {
                case BatchHold.Pin:
                    UserPages.UnpinUserPagesDirtyLock(_kernel, new ReadOnlySpan<Page>(in p), dirty);
                    break;
                case BatchHold.Ref:
                    if (dirty) mem.SetFlags(p, PageFlags.Dirty);
                    mem.Put(p);
                    break;
            }
        }
    }
}

/// <summary>The direct I/O helpers that turn an iterator into a page vector for one request.</summary>
internal static class DirectIo
{
    /// <summary>Pages ceph's loop gets per <c>iov_iter_get_pages2</c> call (<c>ITER_GET_BVECS_PAGES</c>).</summary>
    public const int GetBvecsPages = 64;

    /// <summary>
    /// ceph's <c>iter_get_bvecs_alloc</c> (fs/ceph/file.c), selectable between its loop over
    /// <c>iov_iter_get_pages2</c> and Al Viro's proposed primitive (which also does what
    /// <c>netfs_extract_user_iter</c> does for user iterators: pin up front, one bvec per page). Sizes the
    /// array by <c>iov_iter_npages</c> of the first <paramref name="maxSize"/> bytes, fills one bvec per page
    /// piece and advances the iterator by the bytes covered, which it returns; when not a byte was covered,
    /// the error and a null <paramref name="vector"/>. The caller releases the vector with
    /// <see cref="DioPageVector.Put"/> when the request completes.
    /// </summary>
    public static long IterGetBvecsAlloc(ref IovIter iter, ulong maxSize, DioVectorMethod method, out DioPageVector? vector)
    {
        vector = null;
        ulong orig = iter.Count;
        iter.Truncate(maxSize);
        int npages = iter.NPages(int.MaxValue);
        iter.Reexpand(orig);
        KernelSpace kernel = iter.Kernel ?? iter.Mm?.Kernel ?? throw new ArgumentException("iterator has no pages", nameof(iter));
        var bvecs = new BioVec[npages];
        long bytes;
        int count;
        BatchHold hold;
        if (method == DioVectorMethod.GetPages2Loop)
        {
            bytes = GetBvecsLoop(ref iter, maxSize, bvecs, out count);
            hold = BatchHold.Ref;
        }
        else
        {
            var collect = new BvecCollector(bvecs);
            bytes = iter.ForEachPageBatch(maxSize, ref collect);
            count = collect.Count;
            hold = iter.IsUserBacked ? BatchHold.Pin : BatchHold.None;
        }
        if (bytes <= 0) return bytes;
        vector = new DioPageVector(kernel, bvecs, count, (ulong)bytes, hold);
        return bytes;
    }

    // __iter_get_bvecs: get_pages2 into a 64-page array until maxSize is covered or it fails.
    private static long GetBvecsLoop(ref IovIter iter, ulong maxSize, BioVec[] bvecs, out int count)
    {
        count = 0;
        if (maxSize > iter.Count) maxSize = iter.Count;
        Page[] pages = ArrayPool<Page>.Shared.Rent(GetBvecsPages);
        try
        {
            ulong size = 0;
            while (size < maxSize)
            {
                long got = iter.GetPages2(pages, maxSize - size, GetBvecsPages, out ulong start);
                if (got <= 0) return size != 0 ? (long)size : got;
                size += (ulong)got;
                for (int idx = 0; got != 0; idx++)
                {
                    uint len = (uint)Math.Min(got, PageSize - (long)start);
                    bvecs[count++] = new BioVec(pages[idx], len, (uint)start);
                    got -= len;
                    start = 0;
                }
            }
            return (long)size;
        }
        finally { ArrayPool<Page>.Shared.Return(pages); }
    }

    // One bvec per page of each batch, keeping the batch's pins; stops when the array is full.
    private struct BvecCollector(BioVec[] dest) : IPageBatchConsumer
    {
        public int Count;

        public long Consume(scoped PageBatch batch)
        {
            int room = dest.Length - Count;
            long cap = (long)room * PageSize - batch.Offset; // whole pages, so every piece below is whole
            ulong take = cap <= 0 ? 0 : Math.Min(batch.Bytes, (ulong)cap);
            int n = batch.PagesFor(take);
            for (int i = 0; i < n; i++)
                dest[Count++] = new BioVec(batch[i], (uint)batch.LengthOf(i), i == 0 ? (uint)batch.Offset : 0);
            if (batch.Hold != BatchHold.None) batch.KeepPages(n);
            return (long)take;
        }
    }
}
