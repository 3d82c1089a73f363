namespace Kiov.Abi;

/// <summary>The socket numbers the host back end uses to talk to its executor: <c>AF_UNIX</c> and
/// <c>MSG_*</c>, <c>SCM_*</c> (include/linux/socket.h), <c>SOCK_*</c> (include/linux/net.h),
/// <c>SOL_SOCKET</c> and <c>SO_*</c> (include/uapi/asm-generic/socket.h), as on x86-64.</summary>
internal static class Socket
{
    /// <summary><c>AF_UNIX</c> = 1.</summary>
    public const int AfUnix = 1;
    /// <summary><c>SOCK_STREAM</c> = 1.</summary>
    public const int SockStream = 1;
    /// <summary><c>SOCK_CLOEXEC</c> = 0x80000 (O_CLOEXEC).</summary>
    public const int SockCloexec = OpenFlags.CloExec;
    /// <summary><c>MSG_NOSIGNAL</c> = 0x4000: no SIGPIPE.</summary>
    public const int MsgNoSignal = 0x4000;
    /// <summary><c>SOL_SOCKET</c> = 1.</summary>
    public const int SolSocket = 1;
    /// <summary><c>SO_RCVTIMEO</c> = 20 (<c>SO_RCVTIMEO_OLD</c>, a struct timeval, on 64-bit).</summary>
    public const int SoRcvtimeo = 20;
    /// <summary><c>SCM_RIGHTS</c> = 1: descriptors passed in a control message.</summary>
    public const int ScmRights = 1;
    /// <summary><c>MSG_CMSG_CLOEXEC</c> = 0x40000000: descriptors received with SCM_RIGHTS are close-on-exec.</summary>
    public const int MsgCmsgCloexec = 0x40000000;
}
