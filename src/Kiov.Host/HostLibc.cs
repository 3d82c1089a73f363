using System.Runtime.InteropServices;

namespace Kiov.Trace;

/// <summary>
/// The libc functions <see cref="ExecutorHostKernel"/> uses in kiov's own process to start the
/// executor and talk to it (posix_spawn; socketpair, send, recv, fcntl, wait4 through
/// <c>syscall()</c>), never for a trace's calls. <c>syscall()</c> is declared with six fixed
/// <c>long</c> arguments: glibc's x86-64 <c>syscall</c> is written in assembly and reads all six
/// registers, so the variadic declaration is not needed.
/// </summary>
internal static unsafe partial class HostLibc
{
    private const string Libc = "libc";

    /// <summary><c>syscall(nr, a0..a5)</c>: the result, or -1 with errno set.</summary>
    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

    /// <summary><c>syscall(nr, a0..a5)</c>: the result, or <c>-errno</c>.</summary>
    public static long Call(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
    {
        long ret = Syscall(nr, a0, a1, a2, a3, a4, a5);
        return ret == -1 ? -Marshal.GetLastPInvokeError() : ret;
    }

    /// <summary><c>posix_spawn_file_actions_init</c>: 0 or an error number.</summary>
    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_init")]
    public static partial int PosixSpawnFileActionsInit(void* actions);

    /// <summary><c>posix_spawn_file_actions_adddup2</c>: 0 or an error number.</summary>
    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static partial int PosixSpawnFileActionsAddDup2(void* actions, int fd, int newFd);

    /// <summary><c>posix_spawn_file_actions_destroy</c>.</summary>
    [LibraryImport(Libc, EntryPoint = "posix_spawn_file_actions_destroy")]
    public static partial int PosixSpawnFileActionsDestroy(void* actions);

    [LibraryImport(Libc, EntryPoint = "posix_spawn")]
    private static partial int PosixSpawn(int* pid, byte* path, void* actions, void* attributes, byte** argv, byte** envp);

    /// <summary><c>posix_spawn(&amp;pid, path, actions, NULL, args, {NULL})</c>: the program
    /// starts with <paramref name="args"/> as its argv and an empty environment.</summary>
    /// <returns>0, or the error number.</returns>
    public static int Spawn(string path, string[] args, void* actions, out int pid)
    {
        byte** argv = stackalloc byte*[args.Length + 1];
        byte** envp = stackalloc byte*[1];
        byte* file = (byte*)Marshal.StringToCoTaskMemUTF8(path);
        int made = 0;
        try
        {
            for (; made < args.Length; made++)
                argv[made] = (byte*)Marshal.StringToCoTaskMemUTF8(args[made]);
            argv[args.Length] = null;
            envp[0] = null;
            int child = 0;
            int error = PosixSpawn(&child, file, actions, null, argv, envp);
            pid = child;
            return error;
        }
        finally
        {
            for (int i = 0; i < made; i++)
                Marshal.FreeCoTaskMem((nint)argv[i]);
            Marshal.FreeCoTaskMem((nint)file);
        }
    }
}
