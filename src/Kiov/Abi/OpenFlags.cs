namespace Kiov.Abi;

/// <summary><c>O_*</c>: the flags of open and pipe2 and a file's status flags (F_GETFL, F_SETFL), from
/// include/uapi/asm-generic/fcntl.h (the values x86-64 uses).</summary>
public static class OpenFlags
{
    /// <summary><c>O_RDONLY</c> = 0.</summary>
    public const int RdOnly = 0x0;
    /// <summary><c>O_WRONLY</c> = 0x1.</summary>
    public const int WrOnly = 0x1;
    /// <summary><c>O_RDWR</c> = 0x2.</summary>
    public const int RdWr = 0x2;
    /// <summary><c>O_ACCMODE</c> = 0x3: the mask of the access mode.</summary>
    public const int AccMode = 0x3;
    /// <summary><c>O_TRUNC</c> = 0x200.</summary>
    public const int Trunc = 0x200;
    /// <summary><c>O_APPEND</c> = 0x400.</summary>
    public const int Append = 0x400;
    /// <summary><c>O_NONBLOCK</c> = 0x800.</summary>
    public const int NonBlock = 0x800;
    /// <summary><c>O_CLOEXEC</c> = 0x80000.</summary>
    public const int CloExec = 0x80000;
}
