using Kiov.Mm;
using Kiov.Uaccess;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

public partial struct IovIter
{
    private readonly bool IsSegmented => _type is IterType.Iovec or IterType.Kvec or IterType.Bvec or IterType.Managed;

    // Where the bytes of segment 'seg' from 'skip' start, as the geometry queries see it: the address for
    // IOVEC and KVEC, the offset in the first page for BVEC (bv_offset + skip), the offset for MANAGED.
    private readonly ulong SegmentStart(int seg, ulong skip) => _type switch
    {
        IterType.Bvec => _bvec![seg].Offset + skip,
        IterType.Managed => skip,
        _ => _iov![seg].Base + skip,
    };

    /// <summary>
    /// <c>iov_iter_alignment</c>: the OR of every start and every length the remaining bytes cover, so
    /// a caller tests it against a mask. IOVEC/KVEC skip empty segments and use addresses; BVEC uses
    /// <c>bv_offset + skip</c> and counts empty bvecs' offsets; UBUF, FOLIOQ and XARRAY are one range;
    /// a PIPE is <c>count | iov_offset</c> inside its own last buffer, else the count; DISCARD 0.
    /// </summary>
    public readonly ulong Alignment()
    {
        switch (_type)
        {
            case IterType.Ubuf: return _count == 0 ? 0 : (_ubuf + _iovOffset) | _count;
            case IterType.FolioQ: return _iovOffset | _count;
            case IterType.Xarray: return (ulong)(_xarrayStart + (long)_iovOffset) | _count;
            case IterType.Pipe:
                return _count != 0 && _iovOffset != 0 && _pipe![_pipeHead].Kind == PipeBufferKind.Anon ? _count | _iovOffset : _count;
            case IterType.Discard: return 0;
        }
        if (_nrSegs == 0) return 0;
        ulong res = 0, size = _count, skip = _iovOffset;
        int seg = _seg;
        do
        {
            ulong len = SegmentLength(seg) - skip;
            if (len != 0 || _type == IterType.Bvec)
            {
                res |= SegmentStart(seg, skip);
                if (len > size) len = size;
                res |= len;
                size -= len;
            }
            seg++;
            skip = 0;
        } while (size != 0);
        return res;
    }

    /// <summary>
    /// <c>iov_iter_gap_alignment</c>: for IOVEC, the OR of each non-empty segment's start with the
    /// previous non-empty segment's end, over the segments the count reaches (raw <c>iov_base</c>,
    /// ignoring <c>iov_offset</c>); UBUF 0; any other kind is refused with ~0U, as the kernel's WARN.
    /// </summary>
    public readonly ulong GapAlignment()
    {
        if (_type == IterType.Ubuf) return 0;
        if (_type != IterType.Iovec) return uint.MaxValue;
        ulong res = 0, prevEnd = 0, size = _count;
        for (int k = 0; k < _nrSegs; k++)
        {
            IoVec v = _iov![_seg + k];
            if (v.Len == 0) continue;
            if (prevEnd != 0) res |= v.Base | prevEnd;
            prevEnd = v.Base + v.Len;
            if (size <= v.Len) break;
            size -= v.Len;
        }
        return res;
    }

    /// <summary>
    /// <c>iov_iter_is_aligned</c> (6.0 to 6.16): false when some remaining segment's start meets
    /// <paramref name="addrMask"/> or its used length meets <paramref name="lenMask"/>. BVEC takes
    /// <c>bv_offset + skip</c> and, as the kernel did, the whole <c>bv_len</c> of the first bvec;
    /// XARRAY and FOLIOQ check the count and the offset only; other kinds are aligned.
    /// </summary>
    public readonly bool IsAligned(uint addrMask, uint lenMask)
    {
        switch (_type)
        {
            case IterType.Ubuf: return (_count & lenMask) == 0 && ((_ubuf + _iovOffset) & addrMask) == 0;
            case IterType.Xarray: return (_count & lenMask) == 0 && ((ulong)(_xarrayStart + (long)_iovOffset) & addrMask) == 0;
            case IterType.FolioQ: return (_count & lenMask) == 0 && (_iovOffset & addrMask) == 0;
        }
        if (!IsSegmented || _nrSegs == 0) return true;
        ulong size = _count, skip = _iovOffset;
        int seg = _seg;
        do
        {
            ulong len = _type == IterType.Bvec ? SegmentLength(seg) : SegmentLength(seg) - skip;
            if (len > size) len = size;
            if ((len & lenMask) != 0 || (SegmentStart(seg, skip) & addrMask) != 0) return false;
            size -= len;
            seg++;
            skip = 0;
        } while (size != 0);
        return true;
    }

    /// <summary>
    /// <c>iov_iter_npages</c>: the pages the remaining bytes touch, at most <paramref name="maxPages"/>:
    /// per segment DIV_ROUND_UP(offset in page + length) (IOVEC/KVEC skip empty segments, BVEC does
    /// not); one range for UBUF, FOLIOQ and XARRAY; a PIPE's free slots; DISCARD and MANAGED (no
    /// struct pages) 0.
    /// </summary>
    public readonly int NPages(int maxPages)
    {
        if (_count == 0) return 0;
        switch (_type)
        {
            case IterType.Ubuf: return Cap(PagesSpanned(_ubuf + _iovOffset, _count), maxPages);
            case IterType.FolioQ: return Cap(PagesSpanned(_iovOffset, _count), maxPages);
            case IterType.Xarray: return Cap(PagesSpanned((ulong)(_xarrayStart + (long)_iovOffset), _count), maxPages);
            case IterType.Pipe:
                if (!PipeSane()) return 0;
                PipeDataStart(out uint head, out _);
                return Math.Min(PipeFreeSlots(head), maxPages);
            case IterType.Discard:
            case IterType.Managed:
                return 0;
        }
        ulong size = _count, skip = _iovOffset;
        long npages = 0;
        for (int seg = _seg; size != 0; seg++, skip = 0)
        {
            ulong len = Math.Min(SegmentLength(seg) - skip, size);
            if (len == 0 && _type != IterType.Bvec) continue;
            size -= len;
            ulong start = SegmentStart(seg, skip);
            npages += (long)((ulong)OffsetInPage(start) + len + PageSize - 1) / PageSize;
            if (npages > maxPages) return maxPages;
        }
        return (int)npages;
    }

    private static int Cap(long pages, int max) => pages > max ? max : (int)pages;

    /// <summary>
    /// <c>dup_iter</c>: <paramref name="copy"/> is this iterator with its own copy of the remaining
    /// segment array (IOVEC, KVEC, BVEC, MANAGED), so it survives the caller's array; returns true when
    /// an array was duplicated. Other kinds share their backing and return false; a PIPE, which must
    /// have one writer, is refused (false, as the kernel's WARN and NULL) and <paramref name="copy"/> is empty.
    /// </summary>
    public readonly bool DupIter(out IovIter copy)
    {
        copy = this;
        if (_type == IterType.Pipe) { copy = default; return false; }
        if (!IsSegmented) return false;
        copy._seg = 0;
        switch (_type)
        {
            case IterType.Bvec: copy._bvec = _bvec.AsSpan(_seg, _nrSegs).ToArray(); break;
            case IterType.Managed: copy._managed = _managed.AsSpan(_seg, _nrSegs).ToArray(); break;
            default: copy._iov = _iov.AsSpan(_seg, _nrSegs).ToArray(); break;
        }
        return true;
    }

    /// <summary>
    /// <c>fault_in_iov_iter_readable</c>: faults in up to <paramref name="size"/> bytes of a UBUF or IOVEC
    /// iterator from its position (one read touch per page), stopping at the first page that cannot be
    /// read. Returns the bytes NOT faulted in, relative to <paramref name="size"/> (so asking for more
    /// than the count leaves the excess counted); 0 for other kinds. The iterator does not move.
    /// </summary>
    public readonly ulong FaultInReadable(ulong size) => FaultIn(size, write: false);

    /// <summary><c>fault_in_iov_iter_writeable</c>: as <see cref="FaultInReadable"/>, but makes each page
    /// writable without writing it (<c>fault_in_safe_writeable</c>, a FOLL_WRITE fault).</summary>
    public readonly ulong FaultInWriteable(ulong size) => FaultIn(size, write: true);

    private readonly ulong FaultIn(ulong size, bool write)
    {
        if (!IsUserBacked) return 0;
        ulong count = Math.Min(size, _count);
        size -= count;
        if (_type == IterType.Ubuf) return size + FaultInRange(_mm!, _ubuf + _iovOffset, count, write);
        ulong skip = _iovOffset;
        for (int seg = _seg; count != 0; seg++, skip = 0)
        {
            ulong len = Math.Min(count, _iov![seg].Len - skip);
            if (len == 0) continue;
            ulong left = FaultInRange(_mm!, _iov[seg].Base + skip, len, write);
            count -= len - left;
            if (left != 0) break;
        }
        return count + size;
    }

    // fault_in_readable / fault_in_safe_writeable: touch the first byte, then each following page start;
    // returns the bytes from the first page that failed to the end.
    private static ulong FaultInRange(AddressSpace mm, ulong uaddr, ulong size, bool write)
    {
        if (size == 0) return 0;
        if (!UserAccess.AccessOk(mm.Kernel.Config, uaddr, size)) return size;
        ulong end = uaddr + size;
        for (ulong cur = uaddr; cur < end; cur = (cur & PageMask) + PageSize)
            if (mm.FaultInUser(cur, write) != 0) return end - cur;
        return 0;
    }
}
