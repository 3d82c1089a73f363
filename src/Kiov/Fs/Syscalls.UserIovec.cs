using Kiov.Iov;

namespace Kiov.Fs;

// The vectored system calls with the iovec array in user memory, as the kernel's entry points take it.
public static partial class Syscalls
{
    /// <summary><c>readv(fd, iov, vlen)</c> with the array at user address <paramref name="iov"/>.</summary>
    public static long Readv(Process p, int fd, ulong iov, ulong vlen) =>
        VectorRw(p, fd, new UserIovecs(iov, vlen), null, Rwf.None, write: false);

    /// <summary><c>writev(fd, iov, vlen)</c> with the array at user address <paramref name="iov"/>.</summary>
    public static long Writev(Process p, int fd, ulong iov, ulong vlen) =>
        VectorRw(p, fd, new UserIovecs(iov, vlen), null, Rwf.None, write: true);

    /// <summary><c>preadv(fd, iov, vlen, pos)</c> with the array in user memory.</summary>
    public static long Preadv(Process p, int fd, ulong iov, ulong vlen, long pos) =>
        VectorRw(p, fd, new UserIovecs(iov, vlen), pos, Rwf.None, write: false);

    /// <summary><c>pwritev(fd, iov, vlen, pos)</c> with the array in user memory.</summary>
    public static long Pwritev(Process p, int fd, ulong iov, ulong vlen, long pos) =>
        VectorRw(p, fd, new UserIovecs(iov, vlen), pos, Rwf.None, write: true);

    /// <summary><c>preadv2(fd, iov, vlen, pos, flags)</c> with the array in user memory; a position of
    /// -1 uses and moves the file position.</summary>
    public static long Preadv2(Process p, int fd, ulong iov, ulong vlen, long pos, Rwf flags) =>
        VectorRw(p, fd, new UserIovecs(iov, vlen), pos == -1 ? null : pos, flags, write: false);

    /// <summary><c>pwritev2(fd, iov, vlen, pos, flags)</c> with the array in user memory.</summary>
    public static long Pwritev2(Process p, int fd, ulong iov, ulong vlen, long pos, Rwf flags) =>
        VectorRw(p, fd, new UserIovecs(iov, vlen), pos == -1 ? null : pos, flags, write: true);

    /// <summary><c>vmsplice(fd, iov, nr_segs, flags)</c> with the array in user memory.</summary>
    public static long Vmsplice(Process p, int fd, ulong iov, ulong nrSegs, uint flags) =>
        Vmsplice(p, fd, new UserIovecs(iov, nrSegs), flags);

    /// <summary><c>process_vm_readv(pid, lvec, liovcnt, rvec, riovcnt, flags)</c> with both arrays in
    /// the caller's memory.</summary>
    public static long ProcessVmReadv(Process p, Process target, ulong lvec, ulong liovcnt, ulong rvec, ulong riovcnt, ulong flags) =>
        ProcessVmRw(p, target, new UserIovecs(lvec, liovcnt), rvec, riovcnt, flags, write: false);

    /// <summary><c>process_vm_writev(pid, lvec, liovcnt, rvec, riovcnt, flags)</c> with both arrays in
    /// the caller's memory.</summary>
    public static long ProcessVmWritev(Process p, Process target, ulong lvec, ulong liovcnt, ulong rvec, ulong riovcnt, ulong flags) =>
        ProcessVmRw(p, target, new UserIovecs(lvec, liovcnt), rvec, riovcnt, flags, write: true);

    // process_vm_rw with the arrays in user memory: flags, the local array through import_iovec (its
    // count an unsigned int), nothing to move returns 0, then the remote array through
    // iovec_from_user (its count an unsigned long: above UIO_MAXIOV is -EINVAL).
    private static long ProcessVmRw(Process p, Process target, UserIovecs local, ulong rvec, ulong riovcnt, ulong flags, bool write)
    {
        if (flags != 0) return -Errno.EINVAL;
        IoVec[] iov = System.Buffers.ArrayPool<IoVec>.Shared.Rent(local.PoolLength);
        IoVec[]? remote = null;
        try
        {
            IoVec[] arr = iov;
            long rc = local.Import(write, p, ref arr, out IovIter iter);
            if (rc < 0) return rc;
            if (iter.Count == 0) return 0;
            if (riovcnt > IovLimits.MaxIov) return -Errno.EINVAL;
            remote = System.Buffers.ArrayPool<IoVec>.Shared.Rent(Math.Max(IovLimits.FastIov, (int)riovcnt));
            rc = UserIovecs.CopyIovecFromUser(p, rvec, riovcnt, remote);
            if (rc < 0) return rc;
            return ProcessVmRwCore(target, ref iter, remote.AsSpan(0, (int)riovcnt), write);
        }
        finally
        {
            System.Buffers.ArrayPool<IoVec>.Shared.Return(iov);
            if (remote != null) System.Buffers.ArrayPool<IoVec>.Shared.Return(remote);
        }
    }
}
