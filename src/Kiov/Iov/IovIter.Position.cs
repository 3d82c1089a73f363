namespace Kiov.Iov;

public partial struct IovIter
{
    /// <summary>
    /// <c>iov_iter_advance</c>: moves forward by <paramref name="bytes"/> (clamped to the count)
    /// without touching data: an exact segment end, and any empty segments after it, are stepped over,
    /// so the position lands at offset 0 of the next non-empty segment; nothing happens when the count
    /// is 0. PIPE moves over the buffers get_pages reserved and releases the rest. Returns the bytes advanced.
    /// </summary>
    public ulong Advance(ulong bytes)
    {
        if (_count == 0) return 0;
        if (_type == IterType.Pipe)
        {
            ulong n = Math.Min(bytes, _count);
            PipeAdvance(n);
            return n;
        }
        var step = new SkipStep();
        ulong done = IterateAndAdvance(bytes, ref step);
        if (_iovOffset == 0 && _type is IterType.Iovec or IterType.Kvec or IterType.Bvec or IterType.Managed)
            while (_nrSegs > 0 && SegmentLength(_seg) == 0) { _seg++; _nrSegs--; }
        return done;
    }

    private readonly unsafe struct SkipStep : IIterStep
    {
        public static bool TouchesMemory => false;
        public ulong User(Mm.AddressSpace mm, ulong uaddr, ulong progress, ulong len) => 0;
        public ulong Kernel(byte* p, ulong progress, ulong len) => 0;
    }

    /// <summary>
    /// <c>iov_iter_revert</c>: moves back by <paramref name="bytes"/> (0, or more than MAX_RW_COUNT,
    /// does nothing, as the kernel's WARN does); walks segments backwards without a bound check,
    /// which is the caller's contract. UBUF and XARRAY must not go before their start; FOLIOQ walks
    /// back over folio sizes and segments; PIPE over buffers, not before its start, releasing what
    /// lies after the new position.
    /// </summary>
    public void Revert(ulong bytes)
    {
        if (bytes == 0 || bytes > IovLimits.MaxRwCount) return;
        _count += bytes;
        switch (_type)
        {
            case IterType.Discard:
                return;
            case IterType.Pipe:
                PipeRevert(bytes);
                return;
        }
        if (bytes <= _iovOffset) { _iovOffset -= bytes; return; }
        bytes -= _iovOffset;
        switch (_type)
        {
            case IterType.Ubuf:
            case IterType.Xarray:
                throw new KiovBugException($"iov_iter_revert past the start of {_type}");
            case IterType.FolioQ:
                FolioqRevert(bytes);
                return;
            default:
                while (true)
                {
                    _seg--;
                    _nrSegs++;
                    ulong len = SegmentLength(_seg);
                    if (bytes <= len) { _iovOffset = len - bytes; return; }
                    bytes -= len;
                }
        }
    }

    // iov_iter_folioq_revert: back slot by slot (into the previous segment at slot 0).
    private void FolioqRevert(ulong bytes)
    {
        FolioQueue q = _folioq!;
        int slot = _seg;
        while (true)
        {
            if (slot == 0)
            {
                q = q.Prev ?? throw new KiovBugException("iov_iter_revert before the first folio_queue segment");
                slot = q.NrSlots;
            }
            slot--;
            ulong fsize = q.FolioSize(slot);
            if (bytes <= fsize) { _iovOffset = fsize - bytes; break; }
            bytes -= fsize;
        }
        _folioq = q;
        _seg = slot;
    }

    /// <summary>The length of segment <paramref name="index"/> of an IOVEC, KVEC, BVEC or MANAGED iterator.</summary>
    internal readonly ulong SegmentLength(int index) => _type switch
    {
        IterType.Bvec => _bvec![index].Len,
        IterType.Managed => (ulong)_managed![index].Length,
        _ => _iov![index].Len,
    };

    /// <summary><c>iov_iter_single_seg_count</c>: bytes left in the current segment (the count when
    /// there is only one); for FOLIOQ the size of the current folio capped by the count (the offset
    /// into it is not subtracted, as in the kernel).</summary>
    public readonly ulong SingleSegCount()
    {
        if (_nrSegs > 1 && _type is IterType.Iovec or IterType.Kvec or IterType.Bvec or IterType.Managed)
            return Math.Min(_count, SegmentLength(_seg) - _iovOffset);
        if (_type == IterType.FolioQ)
            return _count == 0 ? 0 : Math.Min(_folioq!.FolioSize(Math.Min(_seg, _folioq.NrSlots - 1)), _count);
        return _count;
    }
}
