namespace Kiov.Abi;

/// <summary><c>MS_*</c>: the flags of msync, from include/uapi/asm-generic/mman-common.h.</summary>
public static class Ms
{
    /// <summary><c>MS_ASYNC</c> = 1.</summary>
    public const int Async = 1;
    /// <summary><c>MS_INVALIDATE</c> = 2.</summary>
    public const int Invalidate = 2;
    /// <summary><c>MS_SYNC</c> = 4.</summary>
    public const int Sync = 4;
}
