namespace Kiov.Abi;

/// <summary><c>MREMAP_*</c>: the flags of mremap, from include/uapi/linux/mman.h.</summary>
public static class Mremap
{
    /// <summary><c>MREMAP_MAYMOVE</c> = 1.</summary>
    public const int MayMove = 1;
    /// <summary><c>MREMAP_FIXED</c> = 2.</summary>
    public const int Fixed = 2;
    /// <summary><c>MREMAP_DONTUNMAP</c> = 4.</summary>
    public const int DontUnmap = 4;
}
