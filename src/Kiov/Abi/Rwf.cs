namespace Kiov.Abi;

/// <summary><c>RWF_*</c>: the per-call flags of preadv2 and pwritev2, from include/uapi/linux/fs.h.</summary>
[Flags]
public enum Rwf
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary><c>RWF_HIPRI</c> = 0x01.</summary>
    HiPri = 0x01,
    /// <summary><c>RWF_DSYNC</c> = 0x02.</summary>
    DSync = 0x02,
    /// <summary><c>RWF_SYNC</c> = 0x04.</summary>
    Sync = 0x04,
    /// <summary><c>RWF_NOWAIT</c> = 0x08.</summary>
    NoWait = 0x08,
    /// <summary><c>RWF_APPEND</c> = 0x10.</summary>
    Append = 0x10,
    /// <summary><c>RWF_NOAPPEND</c> = 0x20 (Linux 6.9).</summary>
    NoAppend = 0x20,
    /// <summary><c>RWF_ATOMIC</c> = 0x40 (Linux 6.11): untorn writes, for files that can (none here).</summary>
    Atomic = 0x40,
    /// <summary><c>RWF_DONTCACHE</c> = 0x80 (Linux 6.14): uncached buffered I/O, for file systems with FOP_DONTCACHE (none here).</summary>
    DontCache = 0x80,
    /// <summary><c>RWF_NOSIGNAL</c> = 0x100 (Linux 6.17): no SIGPIPE on a broken pipe.</summary>
    NoSignal = 0x100,
    /// <summary><c>RWF_SUPPORTED</c>: every flag this kernel knows.</summary>
    Supported = HiPri | DSync | Sync | NoWait | Append | NoAppend | Atomic | DontCache | NoSignal,
}
