namespace Kiov.Iov;

public partial struct IovIter
{
    /// <summary>
    /// <c>iov_iter_advance</c>: moves forward by <paramref name="bytes"/> (clamped to the count)
    /// without touching data; an exact segment end lands on the next segment at offset 0. Returns
    /// the bytes advanced.
    /// </summary>
    public ulong Advance(ulong bytes)
    {
        var step = new SkipStep();
        return IterateAndAdvance(bytes, ref step);
    }

    private readonly unsafe struct SkipStep : IIterStep
    {
        public ulong User(Mm.AddressSpace mm, ulong uaddr, ulong progress, ulong len) => 0;
        public ulong Kernel(byte* p, ulong progress, ulong len) => 0;
    }

    /// <summary>
    /// <c>iov_iter_revert</c>: moves back by <paramref name="bytes"/> (0, or more than MAX_RW_COUNT,
    /// does nothing, as the kernel's WARN does); walks segments backwards without a bound check,
    /// which is the caller's contract. UBUF and XARRAY must not go before their start.
    /// </summary>
    public void Revert(ulong bytes)
    {
        if (bytes == 0 || bytes > IovLimits.MaxRwCount) return;
        _count += bytes;
        switch (_type)
        {
            case IterType.Discard:
                return;
            case IterType.Ubuf:
            case IterType.Xarray:
                if (bytes > _iovOffset) throw new KiovBugException($"iov_iter_revert past the start of {_type}");
                _iovOffset -= bytes;
                return;
            case IterType.Iovec:
            case IterType.Kvec:
            case IterType.Bvec:
                if (bytes <= _iovOffset) { _iovOffset -= bytes; return; }
                bytes -= _iovOffset;
                while (true)
                {
                    _seg--;
                    _nrSegs++;
                    ulong len = SegmentLength(_seg);
                    if (bytes <= len) { _iovOffset = len - bytes; return; }
                    bytes -= len;
                }
            default:
                RevertOther(bytes);
                return;
        }
    }

    /// <summary>The length of segment <paramref name="index"/> of an IOVEC, KVEC or BVEC iterator.</summary>
    internal readonly ulong SegmentLength(int index) =>
        _type == IterType.Bvec ? _bvec![index].Len : _iov![index].Len;

    /// <summary><c>iov_iter_single_seg_count</c>: bytes left in the current segment (the count when
    /// there is only one).</summary>
    public readonly ulong SingleSegCount()
    {
        if (_nrSegs > 1 && _type is IterType.Iovec or IterType.Kvec or IterType.Bvec)
            return Math.Min(_count, SegmentLength(_seg) - _iovOffset);
        return _count;
    }

    private void RevertOther(ulong bytes) =>
        throw new KiovBugException($"iov_iter_revert on {_type} needs its own walk");
}
