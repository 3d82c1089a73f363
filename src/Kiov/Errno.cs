namespace Kiov;

/// <summary>Linux errno numbers (asm-generic/errno-base.h and errno.h), as the model returns them negated.</summary>
public static class Errno
{
    /// <summary>Operation not permitted.</summary>
    public const int EPERM = 1;
    /// <summary>Interrupted system call.</summary>
    public const int EINTR = 4;
    /// <summary>No such file or directory.</summary>
    public const int ENOENT = 2;
    /// <summary>I/O error.</summary>
    public const int EIO = 5;
    /// <summary>No such device or address (SEEK_DATA/SEEK_HOLE past the data).</summary>
    public const int ENXIO = 6;
    /// <summary>Bad file descriptor.</summary>
    public const int EBADF = 9;
    /// <summary>Try again (would block).</summary>
    public const int EAGAIN = 11;
    /// <summary>Out of memory, or an address range not mapped (mprotect, madvise).</summary>
    public const int ENOMEM = 12;
    /// <summary>Permission denied.</summary>
    public const int EACCES = 13;
    /// <summary>Bad address.</summary>
    public const int EFAULT = 14;
    /// <summary>Device or resource busy.</summary>
    public const int EBUSY = 16;
    /// <summary>File exists (MAP_FIXED_NOREPLACE over a mapping).</summary>
    public const int EEXIST = 17;
    /// <summary>No such device.</summary>
    public const int ENODEV = 19;
    /// <summary>Is a directory.</summary>
    public const int EISDIR = 21;
    /// <summary>Invalid argument.</summary>
    public const int EINVAL = 22;
    /// <summary>Too many open files.</summary>
    public const int EMFILE = 24;
    /// <summary>File too large.</summary>
    public const int EFBIG = 27;
    /// <summary>No space left on device.</summary>
    public const int ENOSPC = 28;
    /// <summary>Illegal seek.</summary>
    public const int ESPIPE = 29;
    /// <summary>Broken pipe.</summary>
    public const int EPIPE = 32;
    /// <summary>No such process.</summary>
    public const int ESRCH = 3;
    /// <summary>Value too large for defined data type.</summary>
    public const int EOVERFLOW = 75;
    /// <summary>Operation not supported.</summary>
    public const int EOPNOTSUPP = 95;
    /// <summary>Restart the system call (seen only inside the kernel).</summary>
    public const int ERESTARTSYS = 512;
}
