using Kiov.Mm;
using Kiov.Uaccess;

namespace Kiov.Iov;

/// <summary>
/// Building an iterator from a system call's arguments (lib/iov_iter.c: <c>import_iovec</c>,
/// <c>import_ubuf</c>), with the kernel's order of checks.
/// </summary>
public static class Import
{
    /// <summary>
    /// <c>__import_iovec</c> over an iovec array already read from the user (<c>copy_iovec_from_user</c>):
    /// more than UIO_MAXIOV segments → -EINVAL; a length negative as <c>ssize_t</c> → -EINVAL (in array
    /// order, before any address is checked); then <c>access_ok</c> on each whole segment → -EFAULT for
    /// the call; the total is clamped to MAX_RW_COUNT by shortening the segment that crosses it (later
    /// ones become empty). One segment becomes a UBUF iterator through <see cref="ImportUbuf"/>, which
    /// clamps before its <c>access_ok</c>. Returns the total, or -errno.
    /// </summary>
    /// <param name="source">True for a source (writev), false for a destination (readv).</param>
    /// <param name="mm">The address space the segments belong to.</param>
    /// <param name="uvec">The user's iovec array, as read from user memory.</param>
    /// <param name="fastIov">A caller-owned array (UIO_FASTIOV-sized or larger) to hold the segments;
    /// replaced by a new one when too small, as the kernel kmallocs.</param>
    /// <param name="iter">The iterator built.</param>
    public static long ImportIovec(bool source, AddressSpace mm, ReadOnlySpan<IoVec> uvec, ref IoVec[] fastIov, out IovIter iter)
    {
        iter = default;
        int nrSegs = uvec.Length;
        if (nrSegs == 1)
        {
            if ((long)uvec[0].Len < 0) return -Errno.EINVAL;
            long r = ImportUbuf(source, mm, uvec[0].Base, uvec[0].Len, out iter);
            return r < 0 ? r : (long)iter.Count;
        }
        if (nrSegs > IovLimits.MaxIov) return -Errno.EINVAL;
        for (int s = 0; s < nrSegs; s++)
            if ((long)uvec[s].Len < 0) return -Errno.EINVAL;
        if (fastIov.Length < nrSegs) fastIov = new IoVec[nrSegs];
        IoVec[] iov = fastIov;
        KernelConfig config = mm.Kernel.Config;
        ulong total = 0;
        for (int s = 0; s < nrSegs; s++)
        {
            IoVec v = uvec[s];
            if (!UserAccess.AccessOk(config, v.Base, v.Len)) return -Errno.EFAULT;
            ulong len = v.Len;
            if (len > IovLimits.MaxRwCount - total) len = IovLimits.MaxRwCount - total;
            iov[s] = new IoVec(v.Base, len);
            total += len;
        }
        iter = IovIter.Init(source, mm, iov, nrSegs, total);
        return (long)total;
    }

    /// <summary>
    /// <c>import_iovec</c> reading the array from user memory at <paramref name="uvecAddr"/>: -EINVAL
    /// for more than UIO_MAXIOV segments, -EFAULT when the array cannot be read, then as
    /// <see cref="ImportIovec(bool, AddressSpace, ReadOnlySpan{IoVec}, ref IoVec[], out IovIter)"/>.
    /// </summary>
    public static unsafe long ImportIovec(bool source, AddressSpace mm, ulong uvecAddr, ulong nrSegs, ref IoVec[] fastIov, out IovIter iter)
    {
        iter = default;
        if (nrSegs > IovLimits.MaxIov) return -Errno.EINVAL;
        Span<IoVec> copy = nrSegs <= IovLimits.FastIov ? stackalloc IoVec[(int)nrSegs] : new IoVec[nrSegs];
        fixed (IoVec* p = copy)
            if (UserAccess.CopyFromUser(mm, (byte*)p, uvecAddr, nrSegs * (ulong)sizeof(IoVec)) != 0) return -Errno.EFAULT;
        return ImportIovec(source, mm, copy, ref fastIov, out iter);
    }

    /// <summary><c>import_ubuf</c>: clamps <paramref name="len"/> to MAX_RW_COUNT, then <c>access_ok</c>
    /// (-EFAULT), and builds a UBUF iterator. Returns 0 or -errno.</summary>
    public static long ImportUbuf(bool source, AddressSpace mm, ulong buf, ulong len, out IovIter iter)
    {
        iter = default;
        if (len > IovLimits.MaxRwCount) len = IovLimits.MaxRwCount;
        if (!UserAccess.AccessOk(mm.Kernel.Config, buf, len)) return -Errno.EFAULT;
        iter = IovIter.Ubuf(source, mm, buf, len);
        return 0;
    }
}
