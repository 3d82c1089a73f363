using Kiov.Iov;
using Kiov.Uaccess;

namespace Kiov.Fs;

/// <summary>
/// Reads and writes the kernel makes on its own behalf, with a kernel buffer (fs/read_write.c:
/// <c>kernel_read</c>, <c>kernel_write</c>). Since 5.10 they wrap the buffer in a KVEC iterator and
/// need the file's <c>read_iter</c>/<c>write_iter</c> (else -EINVAL). Before that they ran the
/// ordinary <c>vfs_read</c>/<c>vfs_write</c> under <c>set_fs(KERNEL_DS)</c>, handing the kernel
/// pointer to the file as if it were a user one: the world of the seed thread's question.
/// </summary>
public static class KernelRw
{
    /// <summary><c>kernel_read(file, buf, count, pos)</c>: <paramref name="buf"/> is a kernel address
    /// (direct map or vmalloc); <paramref name="current"/> is the process on whose behalf it runs.</summary>
    public static long KernelRead(Process current, KFile file, ulong buf, ulong count, ref long pos) =>
        Rw(current, file, buf, count, ref pos, write: false);

    /// <summary><c>kernel_write(file, buf, count, pos)</c>.</summary>
    public static long KernelWrite(Process current, KFile file, ulong buf, ulong count, ref long pos) =>
        Rw(current, file, buf, count, ref pos, write: true);

    private static long Rw(Process current, KFile file, ulong buf, ulong count, ref long pos, bool write)
    {
        bool seekable = (file.Mode & (FMode.PRead | FMode.PWrite)) != 0;
        var config = current.Kernel.Config;
        if (!config.KernelRwRequiresIterOps)
        {
            // 2017: set_fs(KERNEL_DS); vfs_write(file, (char __user *)buf, count, pos); set_fs(old_fs).
            using var _ = UserAccess.SetKernelDs(config);
            return Syscalls.VfsPlainRw(current, file, buf, count, ref pos, seekable, write);
        }
        long v = Syscalls.RwVerifyArea(count, pos, seekable);
        if (v != 0) return v;
        // __kernel_read / __kernel_write: a file not open for the direction is the caller's bug, which
        // the kernel WARNs about and refuses with EINVAL for a read, EBADF for a write.
        if ((file.Mode & (write ? FMode.Write : FMode.Read)) == 0) return write ? -Errno.EBADF : -Errno.EINVAL;
        if ((file.Mode & (write ? FMode.CanWrite : FMode.CanRead)) == 0) return -Errno.EINVAL;
        if ((file.Ops & (write ? FileOps.WriteIter : FileOps.ReadIter)) == 0) return -Errno.EINVAL;
        if (count > IovLimits.MaxRwCount) count = IovLimits.MaxRwCount;
        var iter = IovIter.Kvec(write, current.Kernel.Space, [new IoVec(buf, count)], 1, count);
        return write ? file.WriteIter(ref iter, ref pos, IocbFlags.None) : file.ReadIter(ref iter, ref pos, IocbFlags.None);
    }
}
