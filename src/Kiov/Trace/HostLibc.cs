using System.Runtime.InteropServices;

namespace Kiov.Trace;

/// <summary>
/// The two libc functions the in-process host kernel (<see cref="InProcessHostKernel"/>) calls:
/// <c>syscall()</c>, declared with six fixed <c>long</c> arguments (glibc's x86-64
/// <c>syscall</c> is written in assembly and reads all six registers, so the variadic
/// declaration is not needed), and <c>signal()</c>. Each sets errno on failure.
/// </summary>
internal static partial class HostLibc
{
    private const string Libc = "libc";

    /// <summary><c>SIGPIPE</c>.</summary>
    public const int SigPipe = 13;

    /// <summary><c>SIG_IGN</c>.</summary>
    public static readonly nint SigIgn = 1;

    /// <summary><c>syscall(nr, a0..a5)</c>: the result, or -1 with errno set.</summary>
    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

    /// <summary><c>signal(signum, handler)</c>.</summary>
    [LibraryImport(Libc, EntryPoint = "signal", SetLastError = true)]
    public static partial nint Signal(int signum, nint handler);
}
