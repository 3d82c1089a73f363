using System.Runtime.CompilerServices;
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
    /// <summary>Processes [uaddr, uaddr+len) of <paramref name="mm"/>, the bytes from
    /// <paramref name="progress"/> on of the operation; returns the bytes NOT processed.</summary>
    ulong User(AddressSpace mm, ulong uaddr, ulong progress, ulong len);

    /// <summary>Processes <paramref name="len"/> bytes of kernel memory at <paramref name="p"/>
    /// (never crossing a page); returns the bytes NOT processed (0 unless the step stops on purpose).</summary>
    ulong Kernel(byte* p, ulong progress, ulong len);
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
            IterType.Iovec => IterateSegments(len, ref step, user: true),
            IterType.Kvec => IterateSegments(len, ref step, user: false),
            IterType.Bvec => IterateBvec(len, ref step),
            IterType.Xarray => IterateXarray(len, ref step),
            IterType.FolioQ => IterateFolioq(len, ref step),
            IterType.Discard => len,
            _ => throw new KiovBugException($"iterate_and_advance on {_type}"),
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
    private ulong IterateSegments<TStep>(ulong len, ref TStep step, bool user) where TStep : struct, IIterStep
    {
        IoVec[] iov = _iov!;
        int seg = _seg;
        ulong skip = _iovOffset, progress = 0;
        do
        {
            IoVec v = iov[seg];
            ulong part = Math.Min(len, v.Len - skip);
            if (part != 0)
            {
                ulong remain = user ? step.User(_mm!, v.Base + skip, progress, part) : KernelChunks(v.Base + skip, progress, part, ref step);
                ulong consumed = part - remain;
                progress += consumed;
                skip += consumed;
                len -= consumed;
                if (skip < v.Len) break;
            }
            seg++;
            skip = 0;
        } while (len != 0);
        _nrSegs -= seg - _seg;
        _seg = seg;
        _iovOffset = skip;
        return progress;
    }

    // A kernel range may be vmalloc'ed, so it is walked page by page through the kernel page tables.
    private unsafe ulong KernelChunks<TStep>(ulong kaddr, ulong progress, ulong len, ref TStep step) where TStep : struct, IIterStep
    {
        ulong done = 0;
        while (done < len)
        {
            ulong a = kaddr + done;
            if (!_kernel!.TryTranslate(a, out byte* p, out _))
                throw new KiovBugException($"kernel iterator names unmapped kernel address 0x{a:x}");
            ulong chunk = Math.Min(len - done, (ulong)(PageSize - OffsetInPage(a)));
            ulong remain = step.Kernel(p, progress + done, chunk);
            done += chunk - remain;
            if (remain != 0) break;
        }
        return len - done;
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
                byte* p = mem.Pointer(b.Page.Nth((int)(offset >> PageShift))) + OffsetInPage(offset);
                remain = step.Kernel(p, progress, part);
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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong IterateFolioq<TStep>(ulong len, ref TStep step) where TStep : struct, IIterStep =>
        throw new KiovBugException("ITER_FOLIOQ iteration needs a folio queue");
}
