using Kiov.Concurrency;
using System.Buffers;
using Kiov.Iov;
using Kiov.Uaccess;

namespace Kiov.Fs;

/// <summary>
/// The system calls, as the kernel's entry points (<c>SYSCALL_DEFINE</c>s) with its order of checks.
/// Each takes the calling process and returns what the call returns: a result, or -errno.
/// </summary>
public static partial class Syscalls
{
    /// <summary><c>read(fd, buf, count)</c> (<c>ksys_read</c> → <c>vfs_read</c>).</summary>
    public static long Read(Process p, int fd, ulong buf, ulong count) => PlainRw(p, fd, buf, count, null, write: false);

    /// <summary><c>write(fd, buf, count)</c> (<c>ksys_write</c> → <c>vfs_write</c>).</summary>
    public static long Write(Process p, int fd, ulong buf, ulong count) => PlainRw(p, fd, buf, count, null, write: true);

    /// <summary><c>pread64(fd, buf, count, pos)</c>: -EINVAL for a negative position, -ESPIPE on a stream.</summary>
    public static long Pread(Process p, int fd, ulong buf, ulong count, long pos) => PlainRw(p, fd, buf, count, pos, write: false);

    /// <summary><c>pwrite64(fd, buf, count, pos)</c>.</summary>
    public static long Pwrite(Process p, int fd, ulong buf, ulong count, long pos) => PlainRw(p, fd, buf, count, pos, write: true);

    /// <summary><c>readv(fd, iov, n)</c> (<c>do_readv</c> → <c>vfs_readv</c>).</summary>
    public static long Readv(Process p, int fd, ReadOnlySpan<IoVec> iov) => VectorRw(p, fd, new UserIovecs(iov), null, Rwf.None, write: false);

    /// <summary><c>writev(fd, iov, n)</c>.</summary>
    public static long Writev(Process p, int fd, ReadOnlySpan<IoVec> iov) => VectorRw(p, fd, new UserIovecs(iov), null, Rwf.None, write: true);

    /// <summary><c>preadv(fd, iov, n, pos)</c>: -EINVAL for a negative position (before the fd is looked
    /// at), -ESPIPE on a stream.</summary>
    public static long Preadv(Process p, int fd, ReadOnlySpan<IoVec> iov, long pos) => VectorRw(p, fd, new UserIovecs(iov), pos, Rwf.None, write: false);

    /// <summary><c>pwritev(fd, iov, n, pos)</c>.</summary>
    public static long Pwritev(Process p, int fd, ReadOnlySpan<IoVec> iov, long pos) => VectorRw(p, fd, new UserIovecs(iov), pos, Rwf.None, write: true);

    /// <summary><c>preadv2(fd, iov, n, pos, flags)</c>: a position of -1 uses and moves the file position.</summary>
    public static long Preadv2(Process p, int fd, ReadOnlySpan<IoVec> iov, long pos, Rwf flags) =>
        VectorRw(p, fd, new UserIovecs(iov), pos == -1 ? null : pos, flags, write: false);

    /// <summary><c>pwritev2(fd, iov, n, pos, flags)</c>.</summary>
    public static long Pwritev2(Process p, int fd, ReadOnlySpan<IoVec> iov, long pos, Rwf flags) =>
        VectorRw(p, fd, new UserIovecs(iov), pos == -1 ? null : pos, flags, write: true);

    // read/write/pread64/pwrite64 → vfs_read/vfs_write.
    private static long PlainRw(Process p, int fd, ulong buf, ulong count, long? pos, bool write)
    {
        if (pos < 0) return -Errno.EINVAL;
        using ScopedFile held = ScopedFile.Get(p, fd);
        if (held.File is not { } f) return -Errno.EBADF;
        if (pos != null && (f.Mode & (write ? FMode.PWrite : FMode.PRead)) == 0) return -Errno.ESPIPE;
        var op = new PlainOp(p, f, buf, count, write);
        return WithPosition(f, pos, ref op);
    }

    private interface IPositionedOp
    {
        long Run(ref long pos, bool seekable);
    }

    // fdget_pos/file_ppos: a seekable file uses (and, without an explicit position, updates) f_pos,
    // under its lock when the file has FMODE_ATOMIC_POS.
    private static long WithPosition<TOp>(KFile f, long? pos, ref TOp op) where TOp : struct, IPositionedOp
    {
        bool seekable = (f.Mode & (FMode.PRead | FMode.PWrite)) != 0;
        if (pos is long explicitPos) return op.Run(ref explicitPos, seekable);
        if (!seekable) { long none = 0; return op.Run(ref none, false); }
        if (!f.AtomicPos) return AtFilePosition(f, ref op);
        Sched.Lock(f.PosLock);
        lock (f.PosLock) return AtFilePosition(f, ref op);
    }

    // ksys_read/ksys_write: the call runs at a copy of f_pos, written back after it.
    private static long AtFilePosition<TOp>(KFile f, ref TOp op) where TOp : struct, IPositionedOp
    {
        long at = f.Pos;
        long r = op.Run(ref at, true);
        if (r >= 0) f.Pos = at;
        return r;
    }

    private readonly struct PlainOp(Process p, KFile f, ulong buf, ulong count, bool write) : IPositionedOp
    {
        public long Run(ref long pos, bool seekable) => VfsPlainRw(p, f, buf, count, ref pos, seekable, write);
    }

    private struct VectorOp(Process p, KFile f, IovIter iter, Rwf flags, bool write) : IPositionedOp
    {
        private IovIter _iter = iter;

        public long Run(ref long pos, bool seekable)
        {
            long v = RwVerifyArea(_iter.Count, pos, seekable);
            return v != 0 ? v : DoIterRw(p, f, ref _iter, ref pos, flags, write);
        }
    }

    // vfs_read / vfs_write: mode, ops, access_ok on the whole count, rw_verify_area, clamp, then the op.
    internal static long VfsPlainRw(Process p, KFile f, ulong buf, ulong count, ref long pos, bool seekable, bool write)
    {
        if ((f.Mode & (write ? FMode.Write : FMode.Read)) == 0) return -Errno.EBADF;
        if ((f.Mode & (write ? FMode.CanWrite : FMode.CanRead)) == 0) return -Errno.EINVAL;
        if (!UserAccess.AccessOk(p.Kernel.Config, buf, count)) return -Errno.EFAULT;
        long v = RwVerifyArea(count, pos, seekable);
        if (v != 0) return v;
        if (count > IovLimits.MaxRwCount) count = IovLimits.MaxRwCount;
        FileOps ops = f.Ops;
        if ((ops & (write ? FileOps.Write : FileOps.Read)) != 0)
            return write ? f.Write(p, buf, count, ref pos) : f.Read(p, buf, count, ref pos);
        if ((ops & (write ? FileOps.WriteIter : FileOps.ReadIter)) == 0) return -Errno.EINVAL;
        // new_sync_read/write; in 4.10, iov_iter_init under KERNEL_DS quietly made a KVEC iterator.
        var iter = UserAccess.KernelDs
            ? IovIter.Kvec(write, p.Kernel.Space, [new IoVec(buf, count)], 1, count)
            : IovIter.Ubuf(write, p.Mm, buf, count);
        IocbFlags k = f.Append ? IocbFlags.Append : IocbFlags.None;
        return write ? f.WriteIter(ref iter, ref pos, k) : f.ReadIter(ref iter, ref pos, k);
    }

    /// <summary><c>rw_verify_area</c>: a count negative as ssize_t, a negative position, or one that
    /// overflows with the count, is -EINVAL (streams have no position to check).</summary>
    internal static long RwVerifyArea(ulong count, long pos, bool seekable)
    {
        if ((long)count < 0) return -Errno.EINVAL;
        if (seekable && (pos < 0 || pos + (long)count < 0)) return -Errno.EINVAL;
        return 0;
    }

    // do_readv/do_preadv and friends → vfs_readv/vfs_writev.
    private static long VectorRw(Process p, int fd, UserIovecs uvec, long? pos, Rwf flags, bool write)
    {
        if (pos < 0) return -Errno.EINVAL;
        using ScopedFile held = ScopedFile.Get(p, fd);
        if (held.File is not { } f) return -Errno.EBADF;
        IoVec[] iov = ArrayPool<IoVec>.Shared.Rent(uvec.PoolLength);
        try
        {
            if (pos != null && (f.Mode & (write ? FMode.PWrite : FMode.PRead)) == 0) return -Errno.ESPIPE;
            IoVec[] arr = iov;
            return VfsVectorRw(p, f, uvec, ref arr, pos, flags, write);
        }
        finally { if (iov.Length != 0) ArrayPool<IoVec>.Shared.Return(iov); }
    }

    private static long VfsVectorRw(Process p, KFile f, UserIovecs uvec, ref IoVec[] iov, long? pos, Rwf flags, bool write)
    {
        if ((f.Mode & (write ? FMode.Write : FMode.Read)) == 0) return -Errno.EBADF;
        if ((f.Mode & (write ? FMode.CanWrite : FMode.CanRead)) == 0) return -Errno.EINVAL;
        long r = uvec.Import(write, p, ref iov, out IovIter iter);
        if (r < 0) return r;
        if (iter.Count == 0) return 0;
        var op = new VectorOp(p, f, iter, flags, write);
        return WithPosition(f, pos, ref op);
    }

    // do_iter_readv_writev (kiocb_set_rw_flags first) or do_loop_readv_writev for files with plain ops.
    private static long DoIterRw(Process p, KFile f, ref IovIter iter, ref long pos, Rwf flags, bool write)
    {
        FileOps ops = f.Ops;
        if ((ops & (write ? FileOps.WriteIter : FileOps.ReadIter)) != 0)
        {
            long bad = KiocbSetRwFlags(f, flags, write);
            if (bad != 0) return bad;
            // init_sync_kiocb takes IOCB_APPEND from O_APPEND; RWF_APPEND adds it, RWF_NOAPPEND drops it.
            IocbFlags k = f.Append ? IocbFlags.Append : IocbFlags.None;
            if ((flags & Rwf.NoAppend) != 0) k &= ~IocbFlags.Append;
            k |= ((flags & Rwf.NoWait) != 0 ? IocbFlags.NoWait : 0) | ((flags & Rwf.Append) != 0 ? IocbFlags.Append : 0);
            return write ? f.WriteIter(ref iter, ref pos, k) : f.ReadIter(ref iter, ref pos, k);
        }
        if ((flags & ~Rwf.HiPri) != 0) return -Errno.EOPNOTSUPP;
        long done = 0;
        while (iter.Count != 0)
        {
            IoVec seg = CurrentSegment(in iter);
            long nr = write ? f.Write(p, seg.Base, seg.Len, ref pos) : f.Read(p, seg.Base, seg.Len, ref pos);
            if (nr < 0) return done != 0 ? done : nr;
            done += nr;
            if ((ulong)nr != seg.Len) break;
            iter.Advance((ulong)nr);
        }
        return done;
    }

    // kiocb_set_rw_flags: which RWF_* flags this file accepts for this direction, in the kernel's order.
    private static long KiocbSetRwFlags(KFile f, Rwf flags, bool write)
    {
        if ((flags & ~Rwf.Supported) != 0) return -Errno.EOPNOTSUPP;
        if ((flags & (Rwf.Append | Rwf.NoAppend)) == (Rwf.Append | Rwf.NoAppend)) return -Errno.EINVAL;
        if ((flags & Rwf.NoWait) != 0 && (f.Mode & FMode.NoWait) == 0) return -Errno.EOPNOTSUPP;
        // RWF_ATOMIC needs a write to a file with FMODE_CAN_ATOMIC_WRITE, RWF_DONTCACHE a file system
        // with FOP_DONTCACHE: no file of the model has either.
        if ((flags & Rwf.Atomic) != 0) return -Errno.EOPNOTSUPP;
        if ((flags & Rwf.DontCache) != 0) return -Errno.EOPNOTSUPP;
        return 0;
    }

    // iov_iter_iovec: the current user segment, clipped to the count.
    private static IoVec CurrentSegment(in IovIter iter)
    {
        if (iter.Type == IterType.Ubuf) return new IoVec(iter.UbufBase + iter.IovOffset, iter.Count);
        IoVec v = iter.Iovecs![iter.SegmentIndex];
        return new IoVec(v.Base + iter.IovOffset, Math.Min(iter.Count, v.Len - iter.IovOffset));
    }

    /// <summary><c>lseek(fd, offset, whence)</c>: -EINVAL for an unknown whence, -ESPIPE on a pipe.</summary>
    public static long Lseek(Process p, int fd, long offset, int whence)
    {
        using ScopedFile held = ScopedFile.Get(p, fd);
        if (held.File is not { } f) return -Errno.EBADF;
        if ((uint)whence > Seek.Max) return -Errno.EINVAL;
        Sched.Lock(f.PosLock);
        lock (f.PosLock) return f.Llseek(offset, whence);
    }
}
