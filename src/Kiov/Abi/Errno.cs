namespace Kiov.Abi;

/// <summary>Linux errno numbers, as the system calls return them negated: 1 to 34 from
/// include/uapi/asm-generic/errno-base.h, the rest from include/uapi/asm-generic/errno.h (x86-64 uses
/// both unchanged), and one kernel-internal number from include/linux/errno.h.</summary>
public static class Errno
{
    /// <summary><c>EPERM</c> = 1 (errno-base.h): operation not permitted.</summary>
    public const int EPERM = 1;
    /// <summary><c>ENOENT</c> = 2 (errno-base.h): no such file or directory.</summary>
    public const int ENOENT = 2;
    /// <summary><c>ESRCH</c> = 3 (errno-base.h): no such process.</summary>
    public const int ESRCH = 3;
    /// <summary><c>EINTR</c> = 4 (errno-base.h): interrupted system call.</summary>
    public const int EINTR = 4;
    /// <summary><c>EIO</c> = 5 (errno-base.h): I/O error.</summary>
    public const int EIO = 5;
    /// <summary><c>ENXIO</c> = 6 (errno-base.h): no such device or address (SEEK_DATA/SEEK_HOLE past the data).</summary>
    public const int ENXIO = 6;
    /// <summary><c>EBADF</c> = 9 (errno-base.h): bad file descriptor.</summary>
    public const int EBADF = 9;
    /// <summary><c>EAGAIN</c> = 11 (errno-base.h): try again (would block).</summary>
    public const int EAGAIN = 11;
    /// <summary><c>ENOMEM</c> = 12 (errno-base.h): out of memory, or an address range not mapped (mprotect, madvise).</summary>
    public const int ENOMEM = 12;
    /// <summary><c>EACCES</c> = 13 (errno-base.h): permission denied.</summary>
    public const int EACCES = 13;
    /// <summary><c>EFAULT</c> = 14 (errno-base.h): bad address.</summary>
    public const int EFAULT = 14;
    /// <summary><c>EBUSY</c> = 16 (errno-base.h): device or resource busy.</summary>
    public const int EBUSY = 16;
    /// <summary><c>EEXIST</c> = 17 (errno-base.h): file exists (MAP_FIXED_NOREPLACE over a mapping).</summary>
    public const int EEXIST = 17;
    /// <summary><c>ENODEV</c> = 19 (errno-base.h): no such device.</summary>
    public const int ENODEV = 19;
    /// <summary><c>EISDIR</c> = 21 (errno-base.h): is a directory.</summary>
    public const int EISDIR = 21;
    /// <summary><c>EINVAL</c> = 22 (errno-base.h): invalid argument.</summary>
    public const int EINVAL = 22;
    /// <summary><c>EMFILE</c> = 24 (errno-base.h): too many open files.</summary>
    public const int EMFILE = 24;
    /// <summary><c>EFBIG</c> = 27 (errno-base.h): file too large.</summary>
    public const int EFBIG = 27;
    /// <summary><c>ENOSPC</c> = 28 (errno-base.h): no space left on device.</summary>
    public const int ENOSPC = 28;
    /// <summary><c>ESPIPE</c> = 29 (errno-base.h): illegal seek.</summary>
    public const int ESPIPE = 29;
    /// <summary><c>EPIPE</c> = 32 (errno-base.h): broken pipe.</summary>
    public const int EPIPE = 32;
    /// <summary><c>ENOSYS</c> = 38 (errno.h): function not implemented (a system call the kernel does not have).</summary>
    public const int ENOSYS = 38;
    /// <summary><c>EOVERFLOW</c> = 75 (errno.h): value too large for defined data type.</summary>
    public const int EOVERFLOW = 75;
    /// <summary><c>EOPNOTSUPP</c> = 95 (errno.h): operation not supported.</summary>
    public const int EOPNOTSUPP = 95;
    /// <summary><c>ERESTARTSYS</c> = 512 (include/linux/errno.h, never seen by user space): restart the system call (seen only inside the kernel).</summary>
    public const int ERESTARTSYS = 512;
}
