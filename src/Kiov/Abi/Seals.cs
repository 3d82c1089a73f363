namespace Kiov.Abi;

/// <summary><c>F_SEAL_*</c>: the seals of a memfd (F_ADD_SEALS, F_GET_SEALS), from include/uapi/linux/fcntl.h.</summary>
[Flags]
public enum Seals : uint
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary><c>F_SEAL_SEAL</c> = 0x01: no further seals.</summary>
    Seal = 0x01,
    /// <summary><c>F_SEAL_SHRINK</c> = 0x02: the size may not shrink.</summary>
    Shrink = 0x02,
    /// <summary><c>F_SEAL_GROW</c> = 0x04: the size may not grow.</summary>
    Grow = 0x04,
    /// <summary><c>F_SEAL_WRITE</c> = 0x08: no writes, no writable shared mappings.</summary>
    Write = 0x08,
    /// <summary><c>F_SEAL_FUTURE_WRITE</c> = 0x10: no new writes or writable shared mappings.</summary>
    FutureWrite = 0x10,
    /// <summary><c>F_SEAL_EXEC</c> = 0x20 (Linux 6.3): the exec bits of the mode may not change.</summary>
    Exec = 0x20,
    /// <summary><c>F_ALL_SEALS</c> = 0x3f (kernel-internal, mm/memfd.c): every seal above.</summary>
    All = Seal | Shrink | Grow | Write | FutureWrite | Exec,
}
