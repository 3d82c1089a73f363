namespace Kiov.Abi;

/// <summary><c>FD_*</c>: the descriptor flags of F_GETFD and F_SETFD, from include/uapi/asm-generic/fcntl.h.</summary>
public static class FdFlags
{
    /// <summary><c>FD_CLOEXEC</c> = 1.</summary>
    public const int CloExec = 1;
}
