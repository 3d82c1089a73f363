using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Memory.PageGeometry;
using Kiov.Uaccess;

namespace Kiov.Iov;

public partial struct IovIter
{
    /// <summary><c>_copy_to_iter</c>: copies up to <paramref name="src"/>.Length bytes into a destination
    /// iterator; user chunks stop at the first byte that cannot be written. Returns the bytes copied,
    /// by which the iterator has advanced; 0 for a source iterator (the kernel WARNs).</summary>
    public unsafe ulong CopyToIter(ReadOnlySpan<byte> src)
    {
        fixed (byte* p = src) return CopyToIter(p, (ulong)src.Length);
    }

    /// <summary><c>_copy_to_iter</c> from native memory.</summary>
    public unsafe ulong CopyToIter(byte* src, ulong bytes)
    {
        if (_dataSource) return 0;
        var step = new ToIterStep(src);
        return IterateAndAdvance(bytes, ref step);
    }

    /// <summary><c>_copy_from_iter</c>: copies up to <paramref name="dst"/>.Length bytes out of a source
    /// iterator; user chunks stop at the first byte that cannot be read. Returns the bytes copied;
    /// 0 for a destination iterator.</summary>
    public unsafe ulong CopyFromIter(Span<byte> dst)
    {
        fixed (byte* p = dst) return CopyFromIter(p, (ulong)dst.Length);
    }

    /// <summary><c>_copy_from_iter</c> into native memory.</summary>
    public unsafe ulong CopyFromIter(byte* dst, ulong bytes)
    {
        if (!_dataSource) return 0;
        var step = new FromIterStep(dst);
        return IterateAndAdvance(bytes, ref step);
    }

    /// <summary>
    /// <c>copy_page_to_iter</c> of whole pages one after another (<paramref name="src"/>), as one pass:
    /// copies up to <paramref name="bytes"/> from their start into a destination, stopping where the
    /// page-by-page copies would (the first byte that cannot be written). Returns the bytes copied.
    /// </summary>
    internal unsafe ulong CopyPagesToIter(PageVector src, ulong bytes)
    {
        if (_dataSource) return 0;
        var step = new PagesToIterStep(src);
        return IterateAndAdvance(Math.Min(bytes, src.Length), ref step);
    }

    /// <summary>
    /// <c>copy_page_from_iter</c> into whole pages one after another (<paramref name="dst"/>), as one
    /// pass: fills up to <paramref name="bytes"/> from their start out of a source, stopping where the
    /// page-by-page copies would. Returns the bytes copied.
    /// </summary>
    internal unsafe ulong CopyFromIterToPages(PageVector dst, ulong bytes)
    {
        if (!_dataSource) return 0;
        var step = new PagesFromIterStep(dst);
        return IterateAndAdvance(Math.Min(bytes, dst.Length), ref step);
    }

    /// <summary><c>copy_to_iter_full</c>: all or nothing; on a short copy the iterator is reverted and false returned.</summary>
    public unsafe bool CopyToIterFull(ReadOnlySpan<byte> src)
    {
        ulong copied = CopyToIter(src);
        if (copied == (ulong)src.Length) return true;
        Revert(copied);
        return false;
    }

    /// <summary><c>copy_from_iter_full</c>: all or nothing; on a short copy the iterator is reverted and false returned.</summary>
    public unsafe bool CopyFromIterFull(Span<byte> dst)
    {
        ulong copied = CopyFromIter(dst);
        if (copied == (ulong)dst.Length) return true;
        Revert(copied);
        return false;
    }

    /// <summary><c>iov_iter_zero</c>: writes <paramref name="bytes"/> zeros into a destination
    /// (<c>clear_user</c> for user chunks, which may stop short; a PIPE reserves
    /// fresh buffers as <c>pipe_zero</c> did). Returns the bytes zeroed.</summary>
    public ulong Zero(ulong bytes)
    {
        var step = new ZeroStep();
        return IterateAndAdvance(bytes, ref step);
    }

    /// <summary>
    /// <c>copy_page_to_iter</c>: copies <paramref name="bytes"/> from <paramref name="offset"/> in
    /// <paramref name="page"/> (the head of a compound page of <paramref name="order"/>; the model's frames
    /// carry no compound metadata, so the caller says) into a destination, subpage by subpage, stopping at
    /// the first short chunk. <c>page_copy_sane</c> first: the range must lie within the compound page,
    /// else 0. A PIPE iterator takes the page itself by reference (2016–2023 splice). Returns the bytes copied.
    /// </summary>
    public ulong CopyPageToIter(Page page, ulong offset, ulong bytes, int order = 0)
    {
        if (!PageCopySane(offset, bytes, order) || _dataSource) return 0;
        if (_type == IterType.Pipe) return CopyPageToPipe(page, offset, bytes);
        return CopyPage(page, offset, bytes, toIter: true);
    }

    /// <summary><c>copy_page_from_iter</c>: fills <paramref name="bytes"/> at <paramref name="offset"/> in
    /// <paramref name="page"/> (compound of <paramref name="order"/>) from a source, subpage by subpage,
    /// with the same <c>page_copy_sane</c> rule. A destination (PIPE and DISCARD included) gives 0.</summary>
    public ulong CopyPageFromIter(Page page, ulong offset, ulong bytes, int order = 0)
    {
        if (!PageCopySane(offset, bytes, order) || !_dataSource) return 0;
        return CopyPage(page, offset, bytes, toIter: false);
    }

    // page_copy_sane(): offset+n must not wrap and must end inside the (compound) page.
    private static bool PageCopySane(ulong offset, ulong n, int order)
    {
        ulong v = n + offset;
        return n <= v && v <= ((ulong)PageSize << order);
    }

    private unsafe ulong CopyPage(Page page, ulong offset, ulong bytes, bool toIter)
    {
        page = page.Nth((int)(offset >> PageShift));
        offset &= PageSize - 1;
        ulong res = 0;
        PhysicalMemory? mem = PhysMem;
        if (mem == null && _type != IterType.Discard)
            throw new InvalidOperationException("a page copy needs the iterator to know physical memory (give the managed iterator its KernelSpace)");
        while (true)
        {
            ulong n = Math.Min(bytes, PageSize - offset);
            if (mem == null) n = Advance(n); // DISCARD: nothing to read or write
            else
            {
                byte* p = mem.Pointer(page) + offset;
                n = toIter ? CopyToIter(p, n) : CopyFromIter(p, n);
            }
            res += n;
            bytes -= n;
            if (bytes == 0 || n == 0) break;
            offset += n;
            if (offset == PageSize) { page = page.Nth(1); offset = 0; }
        }
        return res;
    }

    private readonly unsafe struct ToIterStep(byte* src) : IIterStep
    {
        public ulong User(AddressSpace mm, ulong uaddr, ulong progress, ulong len) => UserAccess.CopyToUser(mm, uaddr, src + progress, len);
        public ulong Kernel(byte* p, ulong progress, ulong len) { ForwardCopy.Copy(src + progress, p, len); return 0; }
    }

    private readonly unsafe struct FromIterStep(byte* dst) : IIterStep
    {
        public ulong User(AddressSpace mm, ulong uaddr, ulong progress, ulong len) => UserAccess.RawCopyFromUser(mm, dst + progress, uaddr, len);
        public ulong Kernel(byte* p, ulong progress, ulong len) { ForwardCopy.Copy(p, dst + progress, len); return 0; }
    }

    private readonly unsafe struct PagesToIterStep(PageVector src) : IIterStep
    {
        public ulong User(AddressSpace mm, ulong uaddr, ulong progress, ulong len) => UserAccess.CopyPagesToUser(mm, uaddr, src, progress, len);
        public ulong Kernel(byte* p, ulong progress, ulong len) => CopyWithPages(src, progress, p, len, toPages: false);
    }

    private readonly unsafe struct PagesFromIterStep(PageVector dst) : IIterStep
    {
        public ulong User(AddressSpace mm, ulong uaddr, ulong progress, ulong len) => UserAccess.RawCopyFromUserToPages(mm, dst, progress, uaddr, len);
        public ulong Kernel(byte* p, ulong progress, ulong len) => CopyWithPages(dst, progress, p, len, toPages: true);
    }

    // A kernel chunk against the bytes 'offset' on of a page vector, forward, page piece by piece.
    private static unsafe ulong CopyWithPages(PageVector pages, ulong offset, byte* p, ulong len, bool toPages)
    {
        for (ulong done = 0; done < len;)
        {
            ulong n = len - done;
            byte* inPages = pages.At(offset + done, ref n);
            if (toPages) ForwardCopy.Copy(p + done, inPages, n);
            else ForwardCopy.Copy(inPages, p + done, n);
            done += n;
        }
        return 0;
    }

    private readonly unsafe struct ZeroStep : IIterStep
    {
        public ulong User(AddressSpace mm, ulong uaddr, ulong progress, ulong len) => UserAccess.ClearUser(mm, uaddr, len);
        public ulong Kernel(byte* p, ulong progress, ulong len) { new Span<byte>(p, (int)len).Clear(); return 0; }
    }
}
