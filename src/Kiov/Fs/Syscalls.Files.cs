using Kiov.Mm;

namespace Kiov.Fs;

public static partial class Syscalls
{
    /// <summary><c>O_NONBLOCK</c>.</summary>
    public const int ONonBlock = 0x800;
    /// <summary><c>O_CLOEXEC</c>.</summary>
    public const int OCloExec = 0x80000;
    /// <summary><c>F_SETPIPE_SZ</c>.</summary>
    public const int FSetPipeSize = 1031;
    /// <summary><c>F_GETPIPE_SZ</c>.</summary>
    public const int FGetPipeSize = 1032;

    /// <summary><c>pipe2(fds, flags)</c>: the read end gets the lower descriptor. -EINVAL for flags other
    /// than O_NONBLOCK and O_CLOEXEC.</summary>
    public static long Pipe2(Process p, int flags, out int readFd, out int writeFd)
    {
        readFd = writeFd = -1;
        if ((flags & ~(ONonBlock | OCloExec)) != 0) return -Errno.EINVAL;
        var (r, w) = Pipe.Create(p.Kernel.Memory, (flags & ONonBlock) != 0);
        readFd = p.Files.Install(r);
        if (readFd < 0) { r.Put(); w.Put(); return readFd; }
        writeFd = p.Files.Install(w);
        if (writeFd < 0) { p.Files.Close(readFd); w.Put(); readFd = -1; return writeFd; }
        return 0;
    }

    /// <summary><c>memfd_create(name, flags)</c>: a new memfd at the lowest free descriptor.</summary>
    public static long MemfdCreate(Process p, string name, uint flags)
    {
        const uint known = 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0010; // CLOEXEC, ALLOW_SEALING, HUGETLB, NOEXEC_SEAL, EXEC
        if ((flags & ~known) != 0 || name.Length > 249) return -Errno.EINVAL;
        if ((flags & 0x18) == 0x18) return -Errno.EINVAL; // MFD_EXEC with MFD_NOEXEC_SEAL (sanitize_flags)
        var file = new MemfdFile(p.Kernel, name);
        int fd = p.Files.Install(file);
        if (fd < 0) file.Put();
        return fd;
    }

    /// <summary><c>close(fd)</c>.</summary>
    public static long Close(Process p, int fd) => p.Files.Close(fd);

    /// <summary><c>ftruncate(fd, length)</c> (<c>do_sys_ftruncate</c>): -EINVAL for a negative length
    /// (checked before the fd), -EBADF, -EINVAL unless a regular file opened for writing.</summary>
    public static long Ftruncate(Process p, int fd, long length)
    {
        if (length < 0) return -Errno.EINVAL;
        KFile? f = p.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        try
        {
            if ((f.Mode & FMode.Write) == 0) return -Errno.EINVAL;
            return f.Truncate(length);
        }
        finally { f.Put(); }
    }

    /// <summary><c>fcntl(fd, cmd, arg)</c> for F_SETPIPE_SZ and F_GETPIPE_SZ (-EBADF on a non-pipe,
    /// as <c>pipe_fcntl</c> does; -EINVAL for another command).</summary>
    public static long Fcntl(Process p, int fd, int cmd, ulong arg)
    {
        KFile? f = p.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        try
        {
            if (cmd is not (FSetPipeSize or FGetPipeSize)) return -Errno.EINVAL;
            Pipe? pipe = f.PipeInfo;
            if (pipe == null) return -Errno.EBADF;
            return cmd == FGetPipeSize ? (long)pipe.MaxUsage * Memory.PageGeometry.PageSize : pipe.SetSize((uint)arg);
        }
        finally { f.Put(); }
    }

    /// <summary><c>mmap(addr, len, prot, flags, fd, offset)</c> (<c>ksys_mmap_pgoff</c>): an unaligned
    /// offset is -EINVAL first, then a file mapping's fd must be open (-EBADF); the rest is
    /// <see cref="AddressSpace.Mmap"/>.</summary>
    public static long Mmap(Process p, ulong addr, ulong len, int prot, int flags, int fd, long offset)
    {
        if ((offset & (Memory.PageGeometry.PageSize - 1)) != 0) return -Errno.EINVAL;
        if ((flags & MapFlags.Anonymous) != 0) return p.Mm.Mmap(addr, len, prot, flags, null, offset);
        KFile? f = p.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        try { return p.Mm.Mmap(addr, len, prot, flags, f, offset); }
        finally { f.Put(); }
    }

    /// <summary><c>munmap(addr, len)</c>.</summary>
    public static long Munmap(Process p, ulong addr, ulong len) => p.Mm.Munmap(addr, len);

    /// <summary><c>mprotect(addr, len, prot)</c>.</summary>
    public static long Mprotect(Process p, ulong addr, ulong len, int prot) => p.Mm.Mprotect(addr, len, prot);

    /// <summary><c>madvise(addr, len, advice)</c>.</summary>
    public static long Madvise(Process p, ulong addr, ulong len, int advice) => p.Mm.Madvise(addr, len, advice);
}
