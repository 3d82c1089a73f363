namespace Kiov.Abi;

/// <summary><c>AT_*</c>: the special descriptors and flags of the *at calls, from include/uapi/linux/fcntl.h.</summary>
public static class At
{
    /// <summary><c>AT_FDCWD</c> = -100: a relative path is relative to the working directory.</summary>
    public const int FdCwd = -100;
}
