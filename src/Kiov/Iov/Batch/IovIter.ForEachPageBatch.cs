using System.Buffers;
using Kiov.Gup;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

// Al Viro's proposed primitive from the seed thread (Feb 2017): walk an iterator in page batches through
// a medium-sized buffer and hand each batch to a consumer, never under the mmap lock.
//
// Decisions:
// - The consumer is a generic type parameter constrained to IPageBatchConsumer (a struct or ref struct
//   passed by ref), not a delegate: the JIT specialises the walk per consumer, the consumer's state is
//   mutated in place, nothing is allocated per call, and the batch (a ref struct over a stack buffer)
//   cannot escape into a closure.
// - User pages go through a buffer: stackalloc'ed 16 entries when the request needs at most 16 pages
//   (vmsplice's array), otherwise sized by the request, capped at 1024 entries (process_vm's cap), and
//   rented from ArrayPool. A batch continues across segments only while the previous piece ends at a
//   page end and the next begins at offset 0 (Jeff Layton's rule); a short pin ends the batch.
// - Kernel kinds hand their own pages as runs of physically consecutive frames: no array, no reference.
// - The iterator is advanced over a batch before the consumer runs and reverted by what the consumer
//   did not take; what the consumer does not keep is released after it returns.
public partial struct IovIter
{
    /// <summary>Batches of at most this many pages live on the stack (vmsplice's <c>pages[16]</c>).</summary>
    internal const int BatchStackPages = 16;

    /// <summary>The largest buffer a batch walk uses (<c>PVM_MAX_KMALLOC_PAGES</c> / pointer size).</summary>
    internal const int BatchMaxPages = 1024;

    /// <summary>
    /// Al Viro's proposed primitive (the seed thread's <c>iov_iter_for_each_page</c>, batched), standing
    /// on its own: walks up to <paramref name="maxSize"/> bytes (clamped to the count and MAX_RW_COUNT)
    /// and hands them to <paramref name="consumer"/> batch by batch. UBUF and IOVEC pages are pinned
    /// (FOLL_PIN; FOLL_GET with <see cref="PageBatchFlags.GetRefs"/>) into the buffer for the batch and
    /// released after the consumer returns, except those it keeps (<see cref="PageBatch.KeepPages"/>).
    /// KVEC, BVEC, XARRAY, FOLIOQ and PIPE (whose buffers are reserved one page at a time) hand their own
    /// pages. Returns the bytes the consumer took (the iterator advanced by exactly that), or, when it
    /// took none, the first error (the GUP's, the consumer's, -EFAULT for DISCARD and MANAGED or a full
    /// pipe), or 0 (an XARRAY hole at the start).
    /// </summary>
    internal long ForEachPageBatch<TConsumer>(ulong maxSize, ref TConsumer consumer, PageBatchFlags flags = PageBatchFlags.None)
        where TConsumer : IPageBatchConsumer, allows ref struct
    {
        maxSize = Math.Min(Math.Min(maxSize, _count), IovLimits.MaxRwCount);
        if (maxSize == 0) return 0;
        switch (_type)
        {
            case IterType.Ubuf:
            case IterType.Iovec:
            {
                int need = BatchPagesNeeded(maxSize);
                Page[]? rented = null;
                Span<Page> buffer = need <= BatchStackPages
                    ? stackalloc Page[BatchStackPages]
                    : (rented = ArrayPool<Page>.Shared.Rent(need)).AsSpan(0, need);
                // FOLL_PIN arrived in 5.6: on an older kernel the primitive could only take references.
                bool pin = (flags & PageBatchFlags.GetRefs) == 0 && _mm!.Kernel.Config.HasFollPin;
                try { return UserBatches(buffer, maxSize, ref consumer, pin); }
                finally { if (rented != null) ArrayPool<Page>.Shared.Return(rented); }
            }
            case IterType.Kvec:
            case IterType.Bvec:
            case IterType.Xarray:
            case IterType.FolioQ:
            case IterType.Pipe:
                return RunBatches(maxSize, ref consumer);
            default:
                return -Errno.EFAULT;
        }
    }

    /// <summary>
    /// Al Viro's proposed primitive as he said it would start (Feb 2017): built on
    /// <see cref="GetPages2"/>, through a buffer of the request's pages (capped at 1024, from ArrayPool,
    /// since get_pages takes an array). Each batch is one get_pages call, so one segment; every kind
    /// gets FOLL_GET references (<see cref="BatchHold.Ref"/>), and KVEC fails with -EFAULT as get_pages
    /// does. Same contract as <see cref="ForEachPageBatch{TConsumer}"/> otherwise.
    /// </summary>
    internal long ForEachPageBatchViaGetPages2<TConsumer>(ulong maxSize, ref TConsumer consumer)
        where TConsumer : IPageBatchConsumer, allows ref struct => GetPagesBatches(maxSize, ref consumer, advancing: true);

    /// <summary>
    /// Al Viro's primitive exactly as he described its first step (Feb 2017): built on the kernel's own
    /// non-advancing <c>iov_iter_get_pages</c> (<see cref="GetPages"/>, present before 6.0), each batch
    /// one get_pages call into a buffer of the request's pages (capped at 1024), followed by
    /// <c>iov_iter_advance</c> over the bytes the consumer took. FOLL_GET references on every kind
    /// (<see cref="BatchHold.Ref"/>), KVEC -EFAULT, as get_pages. Throws on a kernel without the
    /// non-advancing call (6.0 on: use <see cref="ForEachPageBatchViaGetPages2{TConsumer}"/>).
    /// </summary>
    internal long ForEachPageBatchOnGetPages2017<TConsumer>(ulong maxSize, ref TConsumer consumer)
        where TConsumer : IPageBatchConsumer, allows ref struct => GetPagesBatches(maxSize, ref consumer, advancing: false);

    // The primitive on get_pages: each batch one get_pages call into an ArrayPool buffer. The 6.0
    // get_pages2 has advanced, so what the consumer leaves is reverted (Settle); the 2017 get_pages has
    // not, so the walk advances over what the consumer took.
    private long GetPagesBatches<TConsumer>(ulong maxSize, ref TConsumer consumer, bool advancing)
        where TConsumer : IPageBatchConsumer, allows ref struct
    {
        maxSize = Math.Min(Math.Min(maxSize, _count), IovLimits.MaxRwCount);
        if (maxSize == 0) return 0;
        int need = Math.Max(1, BatchPagesNeeded(maxSize));
        Page[] buffer = ArrayPool<Page>.Shared.Rent(need);
        PhysicalMemory? mem = PhysMem;
        long total = 0;
        try
        {
            while ((ulong)total < maxSize)
            {
                long got = advancing
                    ? GetPages2(buffer, maxSize - (ulong)total, need, out ulong start)
                    : GetPages(buffer, maxSize - (ulong)total, need, out start);
                if (got <= 0) return total != 0 ? total : got;
                int n = (int)PagesSpanned(start, (ulong)got);
                int kept = 0;
                long took;
                try { took = CallConsumer(ref consumer, new PageBatch(buffer.AsSpan(0, n), (int)start, (ulong)got, BatchHold.Ref, ref kept)); }
                finally { for (int i = kept; i < n; i++) mem!.Put(buffer[i]); }
                if (advancing)
                {
                    if (!Settle(took, (ulong)got, ref total)) break;
                    continue;
                }
                if (took < 0) return total != 0 ? total : took;
                Advance((ulong)took);
                total += took;
                if ((ulong)took < (ulong)got) break;
            }
            return total;
        }
        finally { ArrayPool<Page>.Shared.Return(buffer); }
    }

    // iov_iter_npages over the first maxSize bytes, capped at the largest buffer.
    private readonly int BatchPagesNeeded(ulong maxSize)
    {
        IovIter probe = this;
        probe.Truncate(maxSize);
        return probe.NPages(BatchMaxPages);
    }

    // Al's locking rule, checked on every call: the consumer never runs under an mmap lock.
    private static long CallConsumer<TConsumer>(ref TConsumer consumer, scoped PageBatch batch)
        where TConsumer : IPageBatchConsumer, allows ref struct
    {
        if (MmapLock.HeldByCurrentThread)
            throw new KiovBugException("page batch consumer called with an mmap lock held");
        long took = consumer.Consume(batch);
        if (took > (long)batch.Bytes) throw new KiovBugException($"page batch consumer took {took} of {batch.Bytes} bytes");
        if (batch.Kept > (took <= 0 ? 0 : batch.PagesFor((ulong)took)))
            throw new KiovBugException($"page batch consumer kept {batch.Kept} pages but took {took} bytes");
        return took;
    }

    // After a batch the iterator has been advanced over: reverts what the consumer did not take and adds
    // what it took; false ends the walk (an error, or a consumer that stopped early).
    private bool Settle(long took, ulong offered, ref long total)
    {
        if (took < 0)
        {
            Revert(offered);
            if (total == 0) total = took;
            return false;
        }
        total += took;
        if ((ulong)took == offered) return true;
        Revert(offered - (ulong)took);
        return false;
    }

    private long UserBatches<TConsumer>(scoped Span<Page> buffer, ulong maxSize, ref TConsumer consumer, bool pin)
        where TConsumer : IPageBatchConsumer, allows ref struct
    {
        Foll foll = Foll.None;
        if (!_dataSource) foll |= Foll.Write;
        if (_nofault) foll |= Foll.NoFault;
        KernelSpace kernel = _mm!.Kernel;
        long total = 0;
        while ((ulong)total < maxSize)
        {
            int n = PinUserRun(buffer, maxSize - (ulong)total, foll, pin, out int offset0, out ulong bytes, out int error);
            if (n == 0) return total != 0 ? total : error;
            Advance(bytes);
            int kept = 0;
            long took;
            try { took = CallConsumer(ref consumer, new PageBatch(buffer[..n], offset0, bytes, pin ? BatchHold.Pin : BatchHold.Ref, ref kept)); }
            finally
            {
                // Released even when the consumer throws, so a failing consumer leaks no pin.
                Span<Page> rest = buffer[kept..n];
                if (pin) UserPages.UnpinUserPages(kernel, rest);
                else UserPages.PutPages(kernel.Memory, rest);
            }
            if (!Settle(took, bytes, ref total)) break;
        }
        return total;
    }

    // Pins (or gets) the longest run of user pages from the position that fits the buffer and the limit,
    // without moving the iterator: one GUP call per segment, continuing into the next segment only while
    // the run ends at a page end and the segment starts at offset 0; a short GUP ends the run. Returns the
    // pages held, with the bytes they cover; 0 and the GUP's error when not even one page was obtained.
    private readonly int PinUserRun(Span<Page> buffer, ulong limit, Foll foll, bool pin, out int offset0, out ulong bytes, out int error)
    {
        offset0 = 0;
        bytes = 0;
        error = -Errno.EFAULT;
        int k = 0, seg = _seg;
        ulong skip = _iovOffset;
        while (bytes < limit && k < buffer.Length)
        {
            if (!NextUserPiece(ref seg, ref skip, k == 0, out ulong addr, out ulong avail)) break;
            int off = OffsetInPage(addr);
            if (k != 0 && !ContinuesRun((ulong)offset0 + bytes, off)) break;
            ulong len = Math.Min(avail, limit - bytes);
            long want = PagesSpanned(addr, len);
            int room = buffer.Length - k;
            if (want > room)
            {
                want = room;
                len = (ulong)room * PageSize - (ulong)off;
            }
            Span<Page> dest = buffer.Slice(k, (int)want);
            int got = pin
                ? UserPages.PinUserPagesFast(_mm!, addr & PageMask, (int)want, foll, dest)
                : UserPages.GetUserPagesFast(_mm!, addr & PageMask, (int)want, foll, dest);
            if (got <= 0)
            {
                if (got < 0) error = got;
                break;
            }
            if (k == 0) offset0 = off;
            k += got;
            ulong covered = Math.Min(len, (ulong)got * PageSize - (ulong)off);
            bytes += covered;
            if (got < want || covered < avail) break; // a short pin, or the buffer or the limit reached
            seg++;
            skip = 0;
        }
        return k;
    }

    // The next non-empty user piece from (seg, skip): its address and the bytes left in its segment;
    // false at the end. UBUF has one piece, the first.
    internal readonly bool NextUserPiece(ref int seg, ref ulong skip, bool first, out ulong addr, out ulong avail)
    {
        addr = avail = 0;
        if (_type == IterType.Ubuf)
        {
            addr = _ubuf + skip;
            avail = _count;
            return first;
        }
        for (; seg < _seg + _nrSegs; seg++, skip = 0)
        {
            IoVec v = _iov![seg];
            if (v.Len == skip) continue;
            addr = v.Base + skip;
            avail = v.Len - skip;
            return true;
        }
        return false;
    }

    // Jeff Layton's coalescing rule: a piece continues a run only when the run (its first-page offset
    // plus its bytes) ends at a page end and the piece starts at offset 0.
    internal static bool ContinuesRun(ulong runEnd, int pieceOffset) => pieceOffset == 0 && OffsetInPage(runEnd) == 0;

    // The kernel kinds: each batch is the longest run of physically consecutive bytes from the position
    // (at most BatchMaxPages pages), handed as the iterator's own pages. A PIPE reserves one buffer's room
    // per batch at the pipe's end; the advance then keeps what the consumer took and releases the rest.
    private long RunBatches<TConsumer>(ulong maxSize, ref TConsumer consumer)
        where TConsumer : IPageBatchConsumer, allows ref struct
    {
        long total = 0;
        while ((ulong)total < maxSize)
        {
            ulong limit = maxSize - (ulong)total;
            Page first;
            int offset;
            ulong bytes;
            if (_type == IterType.Pipe)
            {
                if (!PipeSane()) return total != 0 ? total : -Errno.EFAULT;
                PipeDataStart(out _, out ulong off);
                bytes = PushPipe(Math.Min(limit, PageSize - off), out uint head, out off);
                if (bytes == 0) return total != 0 ? total : -Errno.EFAULT;
                first = _pipe![head].Page;
                offset = (int)off;
            }
            else if (!ScanKernelRun(limit, out first, out offset, out bytes))
                break;
            int count = (int)PagesSpanned((ulong)offset, bytes);
            Advance(bytes);
            int kept = 0;
            long took = CallConsumer(ref consumer, new PageBatch(first, count, offset, bytes, ref kept));
            if (!Settle(took, bytes, ref total)) break;
        }
        return total;
    }

    // The run of physically consecutive bytes from the position, without moving the iterator; false at
    // the end, at an XARRAY hole or an empty FOLIOQ slot.
    private readonly bool ScanKernelRun(ulong limit, out Page first, out int offset, out ulong bytes)
    {
        first = Page.Null;
        offset = 0;
        bytes = 0;
        ulong cap = Math.Min(limit, (ulong)BatchMaxPages * PageSize);
        ulong runStart = 0; // physical address of the run's first byte
        switch (_type)
        {
            case IterType.Bvec:
            {
                ulong skip = _iovOffset;
                for (int seg = _seg; seg < _seg + _nrSegs && bytes < cap; seg++, skip = 0)
                {
                    BioVec b = _bvec![seg];
                    if (b.Len == skip) continue;
                    ulong at = b.Offset + skip;
                    Page page = b.Page.Nth((int)(at >> PageShift));
                    ulong len = Math.Min(b.Len - skip, cap - bytes);
                    if (!Extend(ref first, ref offset, ref bytes, ref runStart, page, OffsetInPage(at), len, cap)) break;
                    if (len < b.Len - skip) break;
                }
                break;
            }
            case IterType.Kvec:
            {
                ulong skip = _iovOffset;
                for (int seg = _seg; seg < _seg + _nrSegs && bytes < cap; seg++, skip = 0)
                {
                    IoVec v = _iov![seg];
                    bool whole = true;
                    while (skip < v.Len && bytes < cap)
                    {
                        ulong kaddr = v.Base + skip;
                        Page page = _kernel!.VirtToPage(kaddr);
                        if (page.IsNull) throw new KiovBugException($"kernel iterator names unmapped kernel address 0x{kaddr:x}");
                        int off = OffsetInPage(kaddr);
                        ulong len = Math.Min(Math.Min(v.Len - skip, (ulong)(PageSize - off)), cap - bytes);
                        if (!Extend(ref first, ref offset, ref bytes, ref runStart, page, off, len, cap)) { whole = false; break; }
                        skip += len;
                    }
                    if (!whole || skip < v.Len) break;
                }
                break;
            }
            case IterType.Xarray:
            {
                ulong pos = (ulong)_xarrayStart + _iovOffset;
                ulong left = Math.Min(_count, cap);
                while (bytes < left)
                {
                    Page page = _xarray!.Find((long)((pos + bytes) >> PageShift));
                    if (page.IsNull) break;
                    int off = OffsetInPage(pos + bytes);
                    ulong len = Math.Min(left - bytes, (ulong)(PageSize - off));
                    if (!Extend(ref first, ref offset, ref bytes, ref runStart, page, off, len, cap)) break;
                }
                break;
            }
            case IterType.FolioQ:
            {
                FolioQueue q = _folioq!;
                int slot = _seg;
                ulong skip = _iovOffset, left = Math.Min(_count, cap);
                while (bytes < left)
                {
                    if (slot >= q.NrSlots)
                    {
                        if (q.Next == null) break;
                        q = q.Next;
                        slot = 0;
                    }
                    Page folio = q.Folio(slot);
                    ulong fsize = q.FolioSize(slot);
                    if (folio.IsNull) break;
                    if (skip >= fsize) { slot++; skip = 0; continue; }
                    ulong len = Math.Min(fsize - skip, left - bytes);
                    if (!Extend(ref first, ref offset, ref bytes, ref runStart, folio.Nth((int)(skip >> PageShift)), OffsetInPage(skip), len, cap)) break;
                    skip += len;
                }
                break;
            }
        }
        if (PagesSpanned((ulong)offset, bytes) > BatchMaxPages) bytes = (ulong)BatchMaxPages * PageSize - (ulong)offset;
        return bytes != 0;
    }

    // Appends [page+off, +len) to the run when it starts where the run ends physically (or starts the run).
    private static bool Extend(ref Page first, ref int offset, ref ulong bytes, ref ulong runStart, Page page, int off, ulong len, ulong cap)
    {
        ulong phys = ((ulong)(uint)page.Pfn << PageShift) + (ulong)off;
        if (bytes == 0)
        {
            first = page;
            offset = off;
            runStart = phys;
        }
        else if (runStart + bytes != phys) return false;
        bytes += Math.Min(len, cap - bytes);
        return true;
    }
}
