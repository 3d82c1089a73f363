using Kiov.Mm;
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
        if (_type == IterType.Discard) return Advance(bytes);
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
    /// (<c>clear_user</c> for user chunks, which may stop short). Returns the bytes zeroed.</summary>
    public ulong Zero(ulong bytes)
    {
        if (_type == IterType.Discard) return Advance(bytes);
        var step = new ZeroStep();
        return IterateAndAdvance(bytes, ref step);
    }

    private readonly unsafe struct ToIterStep(byte* src) : IIterStep
    {
        public ulong User(AddressSpace mm, ulong uaddr, ulong progress, ulong len) => UserAccess.CopyToUser(mm, uaddr, src + progress, len);
        public ulong Kernel(byte* p, ulong progress, ulong len) { Buffer.MemoryCopy(src + progress, p, len, len); return 0; }
    }

    private readonly unsafe struct FromIterStep(byte* dst) : IIterStep
    {
        public ulong User(AddressSpace mm, ulong uaddr, ulong progress, ulong len) => UserAccess.RawCopyFromUser(mm, dst + progress, uaddr, len);
        public ulong Kernel(byte* p, ulong progress, ulong len) { Buffer.MemoryCopy(p, dst + progress, len, len); return 0; }
    }

    private readonly unsafe struct ZeroStep : IIterStep
    {
        public ulong User(AddressSpace mm, ulong uaddr, ulong progress, ulong len) => UserAccess.ClearUser(mm, uaddr, len);
        public ulong Kernel(byte* p, ulong progress, ulong len) { new Span<byte>(p, (int)len).Clear(); return 0; }
    }
}
