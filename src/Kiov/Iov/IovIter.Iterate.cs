using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

/// <summary>
/// The work an operation does on each contiguous chunk the iterator yields: a step for user memory,
/// which may fault and come back short, and a step for kernel memory, which cannot
/// (include/linux/iov_iter.h: <c>iov_ustep_f</c> and <c>iov_step_f</c>). A struct, so every
/// operation gets its own specialised loop and nothing is allocated.
/// </summary>
internal unsafe interface IIterStep
{
    /// <summary>False for a step that only moves the cursor (<c>iov_iter_advance</c>): the walk then
    /// neither translates addresses nor looks pages up, as the kernel's advance does not.</summary>
    static virtual bool TouchesMemory => true;

    /// <summary>Processes [uaddr, uaddr+len) of <paramref name="mm"/>, the bytes from
    /// <paramref name="progress"/> on of the operation; returns the bytes NOT processed.</summary>
    ulong User(AddressSpace mm, ulong uaddr, ulong progress, ulong len);

    /// <summary>Processes <paramref name="len"/> bytes of kernel memory at <paramref name="p"/>
    /// (never crossing a page, except for managed segments, which have no pages); returns the bytes
    /// NOT processed (0 unless the step stops on purpose).</summary>
    ulong Kernel(byte* p, ulong progress, ulong len);
}

/// <summary>How <see cref="IovIter.IterateSegments{TStep, TSegs}"/> reaches the segments of an
/// IOVEC, KVEC or MANAGED iterator: one loop, three kinds of memory.</summary>
internal interface ISegments
{
    /// <summary>The length of segment <paramref name="seg"/>.</summary>
    ulong Length(int seg);

    /// <summary>Runs <paramref name="step"/> over <paramref name="part"/> bytes of segment
    /// <paramref name="seg"/> from <paramref name="skip"/>; returns the bytes not processed.</summary>
    ulong Run<TStep>(int seg, ulong skip, ulong progress, ulong part, ref TStep step) where TStep : struct, IIterStep;
}

public partial struct IovIter
{
    /// <summary>
    /// <c>iterate_and_advance</c>: clamps <paramref name="len"/> to the count, hands each chunk to
    /// <paramref name="step"/>, stops at the first short chunk, and advances by exactly the bytes
    /// processed, which it returns. The one skeleton every data-moving operation runs on.
    /// </summary>
    internal ulong IterateAndAdvance<TStep>(ulong len, ref TStep step) where TStep : struct, IIterStep
    {
        if (len > _count) len = _count;
        if (len == 0) return 0;
        ulong progress = _type switch
        {
            IterType.Ubuf => IterateUbuf(len, ref step),
            IterType.Iovec => IterateSegments(len, ref step, new UserSegments(_iov!, _mm!)),
            IterType.Kvec => IterateSegments(len, ref step, new KernelSegments(_iov!, _kernel!)),
            IterType.Managed => IterateSegments(len, ref step, new ManagedChunks(_managed!)),
            IterType.Bvec => IterateBvec(len, ref step),
            IterType.Xarray => IterateXarray(len, ref step),
            IterType.FolioQ => IterateFolioq(len, ref step),
            IterType.Pipe => IteratePipe(len, ref step),
            _ => len, // DISCARD
        };
        _count -= progress;
        return progress;
    }

    private ulong IterateUbuf<TStep>(ulong len, ref TStep step) where TStep : struct, IIterStep
    {
        ulong progress = len - step.User(_mm!, _ubuf + _iovOffset, 0, len);
        _iovOffset += progress;
        return progress;
    }

    // iterate_iovec / iterate_kvec: segment by segment; an exact segment end moves on to the next.
    internal ulong IterateSegments<TStep, TSegs>(ulong len, ref TStep step, TSegs segs)
        where TStep : struct, IIterStep where TSegs : struct, ISegments
    {
        int seg = _seg;
        ulong skip = _iovOffset, progress = 0;
        do
        {
            ulong segLen = segs.Length(seg);
            ulong part = Math.Min(len, segLen - skip);
            if (part != 0)
            {
                ulong consumed = part - segs.Run(seg, skip, progress, part, ref step);
                progress += consumed;
                skip += consumed;
                len -= consumed;
                if (skip < segLen) break;
            }
            seg++;
            skip = 0;
        } while (len != 0);
        _nrSegs -= seg - _seg;
        _seg = seg;
        _iovOffset = skip;
        return progress;
    }

    private readonly struct UserSegments(IoVec[] iov, AddressSpace mm) : ISegments
    {
        public ulong Length(int seg) => iov[seg].Len;
        public ulong Run<TStep>(int seg, ulong skip, ulong progress, ulong part, ref TStep step) where TStep : struct, IIterStep =>
            step.User(mm, iov[seg].Base + skip, progress, part);
    }

    // A kernel range may be vmalloc'ed, so it is walked page by page through the kernel page tables.
    private readonly unsafe struct KernelSegments(IoVec[] kvec, KernelSpace kernel) : ISegments
    {
        public ulong Length(int seg) => kvec[seg].Len;
        public ulong Run<TStep>(int seg, ulong skip, ulong progress, ulong len, ref TStep step) where TStep : struct, IIterStep
        {
            if (!TStep.TouchesMemory) return 0;
            ulong kaddr = kvec[seg].Base + skip, done = 0;
            while (done < len)
            {
                ulong a = kaddr + done;
                if (!kernel.TryTranslate(a, out byte* p, out _))
                    ThrowHelper.Unmapped("kernel iterator names unmapped kernel address", a);
                ulong chunk = Math.Min(len - done, (ulong)(PageSize - OffsetInPage(a)));
                ulong remain = step.Kernel(p, progress + done, chunk);
                done += chunk - remain;
                if (remain != 0) break;
            }
            return len - done;
        }
    }

    // Managed memory is pinned for the duration of one step (fixed on its span): no handle, no allocation.
    private readonly unsafe struct ManagedChunks(Memory<byte>[] segs) : ISegments
    {
        public ulong Length(int seg) => (ulong)segs[seg].Length;
        public ulong Run<TStep>(int seg, ulong skip, ulong progress, ulong part, ref TStep step) where TStep : struct, IIterStep
        {
            if (!TStep.TouchesMemory) return 0;
            fixed (byte* p = segs[seg].Span.Slice((int)skip, (int)part)) return step.Kernel(p, progress, part);
        }
    }

    // iterate_bvec: chunks split at page boundaries inside each bio_vec.
    private unsafe ulong IterateBvec<TStep>(ulong len, ref TStep step) where TStep : struct, IIterStep
    {
        BioVec[] bvec = _bvec!;
        PhysicalMemory mem = _kernel!.Memory;
        int seg = _seg;
        ulong skip = _iovOffset, progress = 0;
        while (len != 0)
        {
            BioVec b = bvec[seg];
            ulong offset = b.Offset + skip;
            ulong part = Math.Min(Math.Min(len, b.Len - skip), (ulong)(PageSize - OffsetInPage(offset)));
            ulong remain = 0;
            if (part != 0)
            {
                if (TStep.TouchesMemory)
                    remain = step.Kernel(mem.Pointer(b.Page.Nth((int)(offset >> PageShift))) + OffsetInPage(offset), progress, part);
                ulong consumed = part - remain;
                len -= consumed;
                progress += consumed;
                skip += consumed;
            }
            if (skip == b.Len) { skip = 0; seg++; }
            if (remain != 0) break;
        }
        _nrSegs -= seg - _seg;
        _seg = seg;
        _iovOffset = skip;
        return progress;
    }

    // iterate_xarray: page-sized chunks of the cached pages; a missing page ends the walk.
    private unsafe ulong IterateXarray<TStep>(ulong len, ref TStep step) where TStep : struct, IIterStep
    {
        if (!TStep.TouchesMemory) { _iovOffset += len; return len; }
        PhysicalMemory mem = _kernel!.Memory;
        ulong progress = 0;
        while (progress < len)
        {
            long pos = _xarrayStart + (long)(_iovOffset + progress);
            Page page = _xarray!.Find(pos >> PageShift);
            if (page.IsNull) break;
            int off = (int)(pos & (PageSize - 1));
            ulong part = Math.Min(len - progress, (ulong)(PageSize - off));
            ulong remain = step.Kernel(mem.Pointer(page) + off, progress, part);
            progress += part - remain;
            if (remain != 0) break;
        }
        _iovOffset += progress;
        return progress;
    }

    // iterate_folioq: page-sized chunks of each folio, slot by slot, hopping to the next segment at a
    // segment's end only when there is one (else the slot is left at nr_slots, for the queue may grow).
    // An empty slot ends the walk; the cursor-only walk (advance) goes by folio sizes alone.
    private unsafe ulong IterateFolioq<TStep>(ulong len, ref TStep step) where TStep : struct, IIterStep
    {
        FolioQueue q = _folioq!;
        int slot = _seg;
        ulong skip = _iovOffset, progress = 0;
        if (slot >= q.NrSlots && q.Next != null) { q = q.Next; slot = 0; }
        while (len != 0)
        {
            if (slot >= q.NrSlots) break;
            Page folio = q.Folio(slot);
            if (TStep.TouchesMemory && folio.IsNull) break;
            ulong fsize = q.FolioSize(slot), remain = 0;
            if (skip < fsize)
            {
                ulong part = Math.Min(len, (ulong)(PageSize - OffsetInPage(skip)));
                if (TStep.TouchesMemory)
                    remain = step.Kernel(_kernel!.Memory.Pointer(folio.Nth((int)(skip >> PageShift))) + OffsetInPage(skip), progress, part);
                ulong consumed = part - remain;
                len -= consumed;
                progress += consumed;
                skip += consumed;
            }
            if (skip >= fsize)
            {
                skip = 0;
                slot++;
                if (slot == q.NrSlots && q.Next != null) { q = q.Next; slot = 0; }
            }
            if (remain != 0) break;
        }
        _folioq = q;
        _seg = slot;
        _iovOffset = skip;
        return progress;
    }

    // The 2016-2023 ITER_PIPE copy: reserve space at the pipe's end (push_pipe), then fill the
    // reserved buffers in order, the position following the last byte written.
    private unsafe ulong IteratePipe<TStep>(ulong len, ref TStep step) where TStep : struct, IIterStep
    {
        if (!PipeSane()) return 0;
        ulong reserved = PushPipe(len, out uint head, out ulong off);
        IPipeRing pipe = _pipe!;
        PhysicalMemory mem = _kernel!.Memory;
        ulong progress = 0;
        while (progress < reserved)
        {
            ulong chunk = Math.Min(reserved - progress, PageSize - off);
            step.Kernel(mem.Pointer(pipe[head].Page) + off, progress, chunk);
            _pipeHead = head;
            _iovOffset = off + chunk;
            progress += chunk;
            off = 0;
            head++;
        }
        return progress;
    }
}
