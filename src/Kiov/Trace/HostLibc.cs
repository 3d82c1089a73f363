using System.Runtime.InteropServices;

namespace Kiov.Trace;

/// <summary>
/// libc's <c>syscall()</c>, which <see cref="ExecutorHostKernel"/> uses in kiov's own process for
/// its channel to the executor (socketpair, send, recv, fcntl), never for a trace's calls. It is
/// declared with six fixed <c>long</c> arguments: glibc's x86-64 <c>syscall</c> is written in
/// assembly and reads all six registers, so the variadic declaration is not needed.
/// </summary>
internal static partial class HostLibc
{
    /// <summary><c>syscall(nr, a0..a5)</c>: the result, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

    /// <summary><c>syscall(nr, a0..a5)</c>: the result, or <c>-errno</c>.</summary>
    public static long Call(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
    {
        long ret = Syscall(nr, a0, a1, a2, a3, a4, a5);
        return ret == -1 ? -Marshal.GetLastPInvokeError() : ret;
    }
}
