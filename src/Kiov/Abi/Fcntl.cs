namespace Kiov.Abi;

/// <summary><c>F_*</c>: the commands of fcntl, from include/uapi/asm-generic/fcntl.h (F_GETFD to F_SETFL)
/// and include/uapi/linux/fcntl.h (the Linux-specific ones, from <c>F_LINUX_SPECIFIC_BASE</c> = 1024).</summary>
public static class Fcntl
{
    /// <summary><c>F_GETFD</c> = 1: the descriptor flags (<see cref="FdFlags"/>).</summary>
    public const int GetFd = 1;
    /// <summary><c>F_SETFD</c> = 2.</summary>
    public const int SetFd = 2;
    /// <summary><c>F_GETFL</c> = 3: the file status flags (<see cref="OpenFlags"/>).</summary>
    public const int GetFl = 3;
    /// <summary><c>F_SETFL</c> = 4.</summary>
    public const int SetFl = 4;
    /// <summary><c>F_SETPIPE_SZ</c> = 1031.</summary>
    public const int SetPipeSize = 1031;
    /// <summary><c>F_GETPIPE_SZ</c> = 1032.</summary>
    public const int GetPipeSize = 1032;
    /// <summary><c>F_ADD_SEALS</c> = 1033 (<see cref="Seals"/>).</summary>
    public const int AddSeals = 1033;
    /// <summary><c>F_GET_SEALS</c> = 1034.</summary>
    public const int GetSeals = 1034;
}
