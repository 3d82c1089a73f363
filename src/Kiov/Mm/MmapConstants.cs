namespace Kiov.Mm;

/// <summary><c>PROT_*</c> values of mmap and mprotect (uapi/asm-generic/mman-common.h).</summary>
public static class Prot
{
    /// <summary><c>PROT_NONE</c>.</summary>
    public const int None = 0;
    /// <summary><c>PROT_READ</c>.</summary>
    public const int Read = 1;
    /// <summary><c>PROT_WRITE</c>.</summary>
    public const int Write = 2;
    /// <summary><c>PROT_EXEC</c>.</summary>
    public const int Exec = 4;
    /// <summary><c>PROT_SEM</c> (accepted and ignored on x86).</summary>
    public const int Sem = 8;
    /// <summary><c>PROT_GROWSDOWN</c>: mprotect extends to the start of a grows-down area.</summary>
    public const int GrowsDown = 0x01000000;
    /// <summary><c>PROT_GROWSUP</c>: no area grows up on x86 (EINVAL).</summary>
    public const int GrowsUp = 0x02000000;
}

/// <summary><c>MAP_*</c> flags of mmap.</summary>
public static class MapFlags
{
    /// <summary><c>MAP_SHARED</c>.</summary>
    public const int Shared = 0x01;
    /// <summary><c>MAP_PRIVATE</c>.</summary>
    public const int Private = 0x02;
    /// <summary><c>MAP_SHARED_VALIDATE</c>.</summary>
    public const int SharedValidate = 0x03;
    /// <summary><c>MAP_TYPE</c>: the mask of the three above.</summary>
    public const int TypeMask = 0x0f;
    /// <summary><c>MAP_FIXED</c>.</summary>
    public const int Fixed = 0x10;
    /// <summary><c>MAP_ANONYMOUS</c>.</summary>
    public const int Anonymous = 0x20;
    /// <summary><c>MAP_GROWSDOWN</c>.</summary>
    public const int GrowsDown = 0x0100;
    /// <summary><c>MAP_POPULATE</c>: fault every page in at once.</summary>
    public const int Populate = 0x8000;
    /// <summary><c>MAP_FIXED_NOREPLACE</c>.</summary>
    public const int FixedNoReplace = 0x100000;
}

/// <summary><c>MADV_*</c> values of madvise.</summary>
public static class Madv
{
    /// <summary><c>MADV_NORMAL</c>.</summary>
    public const int Normal = 0;
    /// <summary><c>MADV_RANDOM</c>.</summary>
    public const int Random = 1;
    /// <summary><c>MADV_SEQUENTIAL</c>.</summary>
    public const int Sequential = 2;
    /// <summary><c>MADV_WILLNEED</c>.</summary>
    public const int WillNeed = 3;
    /// <summary><c>MADV_DONTNEED</c>: drop the pages; private anonymous memory reads back as zeros.</summary>
    public const int DontNeed = 4;
}
