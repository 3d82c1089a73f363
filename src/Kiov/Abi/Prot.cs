namespace Kiov.Abi;

/// <summary><c>PROT_*</c>: the protection bits of mmap and mprotect, from
/// include/uapi/asm-generic/mman-common.h (the values x86-64 uses).</summary>
public static class Prot
{
    /// <summary><c>PROT_NONE</c> = 0x0: no access.</summary>
    public const int None = 0x0;
    /// <summary><c>PROT_READ</c> = 0x1.</summary>
    public const int Read = 0x1;
    /// <summary><c>PROT_WRITE</c> = 0x2.</summary>
    public const int Write = 0x2;
    /// <summary><c>PROT_EXEC</c> = 0x4.</summary>
    public const int Exec = 0x4;
    /// <summary><c>PROT_SEM</c> = 0x8 (accepted and ignored on x86).</summary>
    public const int Sem = 0x8;
    /// <summary><c>PROT_GROWSDOWN</c> = 0x01000000: mprotect extends to the start of a grows-down area.</summary>
    public const int GrowsDown = 0x01000000;
    /// <summary><c>PROT_GROWSUP</c> = 0x02000000: no area grows up on x86 (EINVAL).</summary>
    public const int GrowsUp = 0x02000000;
}
