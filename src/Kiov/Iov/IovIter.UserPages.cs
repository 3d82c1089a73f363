using Kiov.Gup;
using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Iov;

public partial struct IovIter
{
    // The user-backed half of get_pages2 and extract_pages: the first non-empty segment (maxSize
    // clamped to it), get_user_pages_fast or pin_user_pages_fast on its pages, then an advance by
    // what the pages returned cover. FOLL_WRITE for a destination, FOLL_NOFAULT when nofault.
    private long UserBackedPages(ref Page[]? pages, ulong maxSize, int maxPages, bool pin, bool p2p, out ulong start)
    {
        Foll flags = Foll.None;
        if (!_dataSource) flags |= Foll.Write;
        if (_nofault) flags |= Foll.NoFault;
        if (p2p) flags |= Foll.PciP2pDma;
        ulong addr = FirstIovecSegment(ref maxSize);
        start = (ulong)OffsetInPage(addr);
        int n = WantPages(ref pages, maxSize, start, maxPages);
        Span<Page> span = pages.AsSpan(0, n);
        int res = pin
            ? UserPages.PinUserPagesFast(_mm!, addr & PageMask, n, flags, span)
            : UserPages.GetUserPagesFast(_mm!, addr & PageMask, n, flags, span);
        if (res <= 0) return res;
        maxSize = Math.Min(maxSize, (ulong)res * PageSize - start);
        Advance(maxSize);
        return (long)maxSize;
    }

    // first_iovec_segment(): the address of the current position in the first non-empty segment.
    internal readonly ulong FirstIovecSegment(ref ulong size)
    {
        if (_type == IterType.Ubuf) return _ubuf + _iovOffset;
        ulong skip = _iovOffset;
        for (int k = 0; k < _nrSegs; k++, skip = 0)
        {
            IoVec v = _iov![_seg + k];
            ulong len = v.Len - skip;
            if (len == 0) continue;
            if (size > len) size = len;
            return v.Base + skip;
        }
        throw new KiovBugException("first_iovec_segment on an empty iterator");
    }
}
