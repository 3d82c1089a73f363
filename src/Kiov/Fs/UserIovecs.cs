using Kiov.Iov;
using Kiov.Uaccess;

namespace Kiov.Fs;

/// <summary>
/// The iovec array a vectored system call is given: either the user's pointer and count, read
/// through the model's user access as the kernel reads it (<c>import_iovec</c>, with
/// <c>copy_iovec_from_user</c>'s faults and limits), or an array a caller already holds (the
/// convenience form, as if it had been read from user memory without a fault).
/// </summary>
public readonly ref struct UserIovecs
{
    private readonly ReadOnlySpan<IoVec> _list;
    private readonly ulong _addr;
    private readonly uint _count;
    private readonly bool _inUser;

    /// <summary>An array the caller holds.</summary>
    public UserIovecs(ReadOnlySpan<IoVec> list) => _list = list;

    /// <summary>The user's <c>const struct iovec __user *</c> and its count, cut to the
    /// <c>unsigned int</c> that <c>import_iovec</c> takes (readv's <c>unsigned long vlen</c> loses its
    /// upper half on the way).</summary>
    public UserIovecs(ulong addr, ulong count)
    {
        _addr = addr;
        _count = (uint)count;
        _inUser = true;
    }

    /// <summary>How many segments a caller's scratch array should hold (what it rents).</summary>
    internal int PoolLength => Math.Max(IovLimits.FastIov, _inUser ? (int)Math.Min(_count, (uint)IovLimits.MaxIov) : _list.Length);

    /// <summary>
    /// <c>import_iovec</c>: from a held array, <see cref="Import.ImportIovec(bool, Mm.AddressSpace, ReadOnlySpan{IoVec}, ref IoVec[], out IovIter)"/>.
    /// From user memory: one segment goes through <c>__import_iovec_ubuf</c> (read it, then
    /// <c>import_ubuf</c>); otherwise <c>iovec_from_user</c> (none: an empty iterator; more than
    /// UIO_MAXIOV: -EINVAL; then the array is read element by element, -EFAULT or -EINVAL at the first
    /// element that faults or has a negative length) and the checks of the held form.
    /// </summary>
    internal long Import(bool source, Process p, ref IoVec[] iov, out IovIter iter)
    {
        if (!_inUser) return Iov.Import.ImportIovec(source, p.Mm, _list, ref iov, out iter);
        iter = default;
        if (_count > IovLimits.MaxIov) return -Errno.EINVAL;
        long r = CopyIovecFromUser(p, _addr, _count, iov);
        if (r < 0) return r;
        return Iov.Import.ImportIovec(source, p.Mm, iov.AsSpan(0, (int)_count), ref iov, out iter);
    }

    /// <summary>
    /// <c>iovec_from_user</c> without the count check: a count of 0 reads nothing; otherwise
    /// <c>copy_iovec_from_user</c>: the whole array must pass <c>access_ok</c> (-EFAULT), then each
    /// element's length is read before its base; a fault is -EFAULT and a length negative as an
    /// <c>ssize_t</c> is -EINVAL, whichever comes first.
    /// </summary>
    /// <param name="p">The process whose memory holds the array.</param>
    /// <param name="addr">The array's user address.</param>
    /// <param name="count">The elements (at most UIO_MAXIOV; <paramref name="into"/> holds them).</param>
    /// <param name="into">Where the elements go.</param>
    internal static unsafe long CopyIovecFromUser(Process p, ulong addr, ulong count, IoVec[] into)
    {
        if (count == 0) return 0;
        if (!UserAccess.AccessOk(p.Kernel.Config, addr, count * 16)) return -Errno.EFAULT;
        for (ulong i = 0; i < count; i++)
        {
            ulong len, base_;
            ulong at = addr + i * 16;
            if (UserAccess.CopyFromUser(p.Mm, (byte*)&len, at + 8, 8) != 0) return -Errno.EFAULT;
            if ((long)len < 0) return -Errno.EINVAL;
            if (UserAccess.CopyFromUser(p.Mm, (byte*)&base_, at, 8) != 0) return -Errno.EFAULT;
            into[i] = new IoVec(base_, len);
        }
        return 0;
    }
}
