namespace Kiov.Abi;

/// <summary><c>MFD_*</c>: the flags of memfd_create, from include/uapi/linux/memfd.h.</summary>
public static class MemfdFlags
{
    /// <summary><c>MFD_CLOEXEC</c> = 0x1.</summary>
    public const uint CloExec = 0x1;
    /// <summary><c>MFD_ALLOW_SEALING</c> = 0x2.</summary>
    public const uint AllowSealing = 0x2;
    /// <summary><c>MFD_HUGETLB</c> = 0x4.</summary>
    public const uint HugeTlb = 0x4;
    /// <summary><c>MFD_NOEXEC_SEAL</c> = 0x8 (Linux 6.3): not executable, and sealed so.</summary>
    public const uint NoExecSeal = 0x8;
    /// <summary><c>MFD_EXEC</c> = 0x10 (Linux 6.3): executable.</summary>
    public const uint Exec = 0x10;
}
