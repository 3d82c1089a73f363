using Kiov.Concurrency;
using Kiov.Mm;

namespace Kiov.Fs;

public static partial class Syscalls
{
    /// <summary><c>pipe2(fds, flags)</c>: the read end gets the lower descriptor. -EINVAL for flags other
    /// than O_NONBLOCK and O_CLOEXEC.</summary>
    public static long Pipe2(Process p, int flags, out int readFd, out int writeFd)
    {
        readFd = writeFd = -1;
        if ((flags & ~(OpenFlags.NonBlock | OpenFlags.CloExec)) != 0) return -Errno.EINVAL;
        var (r, w) = Pipe.Create(p.Kernel.Memory, (flags & OpenFlags.NonBlock) != 0, p.Kernel.Config.Limits, p.Kernel.PipeUser);
        readFd = p.Files.Install(r);
        if (readFd < 0) { r.Put(); w.Put(); return readFd; }
        writeFd = p.Files.Install(w);
        if (writeFd < 0) { p.Files.Close(readFd); w.Put(); readFd = -1; return writeFd; }
        return 0;
    }

    /// <summary>
    /// <c>memfd_create(name, flags)</c>: a new memfd at the lowest free descriptor. -EINVAL for unknown
    /// flags, MFD_EXEC with MFD_NOEXEC_SEAL, or a long name; vm.memfd_noexec decides a memfd given
    /// neither (1 and 2 make it MFD_NOEXEC_SEAL; 2 refuses MFD_EXEC with -EACCES). Without
    /// MFD_ALLOW_SEALING it starts sealed with F_SEAL_SEAL; MFD_NOEXEC_SEAL starts it with
    /// F_SEAL_EXEC instead (and sealable). MFD_HUGETLB needs hugetlbfs pages this model does not have: -EINVAL.
    /// </summary>
    public static long MemfdCreate(Process p, string name, uint flags)
    {
        const uint known = MemfdFlags.CloExec | MemfdFlags.AllowSealing | MemfdFlags.HugeTlb | MemfdFlags.NoExecSeal | MemfdFlags.Exec;
        if ((flags & ~known) != 0 || name.Length > 249) return -Errno.EINVAL;
        if ((flags & (MemfdFlags.Exec | MemfdFlags.NoExecSeal)) == (MemfdFlags.Exec | MemfdFlags.NoExecSeal)) return -Errno.EINVAL;
        int noexec = p.Kernel.Config.Limits.MemfdNoexec;
        if ((flags & (MemfdFlags.Exec | MemfdFlags.NoExecSeal)) == 0) flags |= noexec >= 1 ? MemfdFlags.NoExecSeal : MemfdFlags.Exec;
        if (noexec >= 2 && (flags & MemfdFlags.Exec) != 0) return -Errno.EACCES;
        if ((flags & MemfdFlags.HugeTlb) != 0) return -Errno.EINVAL;
        Seals seals = Seals.Seal;
        if ((flags & MemfdFlags.NoExecSeal) != 0) seals = Seals.Exec;
        else if ((flags & MemfdFlags.AllowSealing) != 0) seals = Seals.None;
        var file = new MemfdFile(p.Kernel, name, seals);
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
        using ScopedFile held = ScopedFile.Get(p, fd);
        if (held.File is not { } f) return -Errno.EBADF;
        if ((f.Mode & FMode.Write) == 0) return -Errno.EINVAL;
        return f.Truncate(length);
    }

    /// <summary>
    /// <c>fcntl(fd, cmd, arg)</c> (<c>do_fcntl</c>), with <paramref name="arg"/> cut to an unsigned int
    /// as these commands take it: F_GETFL and F_SETFL (O_APPEND and O_NONBLOCK change); F_SETPIPE_SZ and
    /// F_GETPIPE_SZ (<c>pipe_fcntl</c>: -EBADF on a non-pipe); F_ADD_SEALS and F_GET_SEALS
    /// (<c>memfd_fcntl</c>); -EINVAL for another command.
    /// </summary>
    public static long Fcntl(Process p, int fd, int cmd, ulong arg)
    {
        using ScopedFile held = ScopedFile.Get(p, fd);
        if (held.File is not { } f) return -Errno.EBADF;
        uint argi = (uint)arg;
        switch (cmd)
        {
            case Abi.Fcntl.GetFl:
                return f.StatusFlags;
            case Abi.Fcntl.SetFl:
                // setfl: only O_APPEND, O_NONBLOCK (and flags this model has no files for) change.
                f.Append = (argi & OpenFlags.Append) != 0;
                f.NonBlock = (argi & OpenFlags.NonBlock) != 0;
                return 0;
            case Abi.Fcntl.SetPipeSize or Abi.Fcntl.GetPipeSize:
                Pipe? pipe = f.PipeInfo;
                if (pipe == null) return -Errno.EBADF;
                return cmd == Abi.Fcntl.GetPipeSize ? (long)pipe.MaxUsage * Memory.PageGeometry.PageSize : pipe.SetSize(argi);
            case Abi.Fcntl.AddSeals:
                return AddSeals(f, (Seals)argi);
            case Abi.Fcntl.GetSeals:
                return f.SealBits is { } seals ? (long)seals : -Errno.EINVAL;
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>
    /// <c>memfd_add_seals</c>: -EPERM unless the file is open for writing, -EINVAL for unknown seals or a
    /// file that cannot be sealed, -EPERM once F_SEAL_SEAL is set; F_SEAL_WRITE needs no shared mapping
    /// that may write (<c>mapping_deny_writable</c>: -EBUSY) and no page referenced from elsewhere
    /// (<c>memfd_wait_for_pins</c>: -EBUSY); F_SEAL_EXEC on an executable memfd brings the write seals.
    /// </summary>
    private static long AddSeals(KFile f, Seals seals)
    {
        if ((f.Mode & FMode.Write) == 0) return -Errno.EPERM;
        if ((seals & ~Seals.All) != 0) return -Errno.EINVAL;
        if (f is not MemfdFile memfd) return -Errno.EINVAL;
        ShmemInode inode = memfd.Inode;
        Sched.Lock(inode.WriteLock);
        lock (inode.WriteLock)
        {
            if ((inode.SealBits & Seals.Seal) != 0) return -Errno.EPERM;
            if ((seals & Seals.Write) != 0 && (inode.SealBits & Seals.Write) == 0)
            {
                int r = inode.DenyWritable();
                if (r == 0) r = inode.CheckNoExtraReferences();
                if (r != 0) return r;
            }
            if ((seals & Seals.Exec) != 0 && inode.Executable)
                seals |= Seals.Shrink | Seals.Grow | Seals.Write | Seals.FutureWrite;
            inode.SealBits |= seals;
        }
        return 0;
    }

    /// <summary><c>dup(fd)</c>: the same open file at the lowest free descriptor; -EBADF, -EMFILE.</summary>
    public static long Dup(Process p, int fd)
    {
        KFile? f = p.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        int nfd = p.Files.Install(f);
        if (nfd < 0) f.Put();
        return nfd;
    }

    /// <summary>
    /// <c>open("/proc/self/fd/N", flags)</c>: the magic link leads to the open file's inode, which is
    /// opened again (<c>do_open</c>): -ENOENT when <paramref name="fd"/> is not open; a memfd gets a new
    /// open file of the same inode, with O_TRUNC truncating it (seals permitting, whatever the access);
    /// a pipe gets a new end (<c>fifo_open</c>). O_APPEND and O_NONBLOCK go to the new file's flags.
    /// </summary>
    public static long OpenProcFd(Process p, int fd, int flags)
    {
        KFile opened;
        using (ScopedFile held = ScopedFile.Get(p, fd))
        {
            if (held.File is not { } f) return -Errno.ENOENT;
            FMode access = (flags & OpenFlags.AccMode) switch { OpenFlags.RdOnly => FMode.Read, OpenFlags.WrOnly => FMode.Write, OpenFlags.RdWr => FMode.Read | FMode.Write, _ => FMode.None };
            if (access == FMode.None) return -Errno.EINVAL;
            opened = f.Reopen(access);
        }
        opened.Append = (flags & OpenFlags.Append) != 0;
        opened.NonBlock = (flags & OpenFlags.NonBlock) != 0;
        if ((flags & OpenFlags.Trunc) != 0 && opened is MemfdFile)
        {
            int t = opened.Truncate(0);
            if (t < 0) { opened.Put(); return t; }
        }
        int nfd = p.Files.Install(opened);
        if (nfd < 0) opened.Put();
        return nfd;
    }

    /// <summary><c>mmap(addr, len, prot, flags, fd, offset)</c> (<c>ksys_mmap_pgoff</c>): an unaligned
    /// offset is -EINVAL first, then a file mapping's fd must be open (-EBADF); the rest is
    /// <see cref="AddressSpace.Mmap"/>.</summary>
    public static long Mmap(Process p, ulong addr, ulong len, int prot, int flags, int fd, long offset)
    {
        if ((offset & (Memory.PageGeometry.PageSize - 1)) != 0) return -Errno.EINVAL;
        if ((flags & MapFlags.Anonymous) != 0) return p.Mm.Mmap(addr, len, prot, flags, null, offset);
        using ScopedFile held = ScopedFile.Get(p, fd);
        if (held.File is not { } f) return -Errno.EBADF;
        return p.Mm.Mmap(addr, len, prot, flags, f, offset);
    }

    /// <summary><c>munmap(addr, len)</c>.</summary>
    public static long Munmap(Process p, ulong addr, ulong len) => p.Mm.Munmap(addr, len);

    /// <summary><c>mprotect(addr, len, prot)</c>.</summary>
    public static long Mprotect(Process p, ulong addr, ulong len, int prot) => p.Mm.Mprotect(addr, len, prot);

    /// <summary><c>madvise(addr, len, advice)</c>.</summary>
    public static long Madvise(Process p, ulong addr, ulong len, int advice) => p.Mm.Madvise(addr, len, advice);
}
