using System.Runtime.InteropServices;
using Kiov.Iov;

namespace Kiov.Cli.Bench;

/// <summary>
/// The libc calls the bench's host side makes: direct system calls of this process on buffers the
/// bench maps for itself (never the trace arena), so the host kernel is timed without any IPC.
/// Declared with their exact C types; each sets errno. Its own declarations, not the trace host
/// back end's: that one belongs to trace execution (and moves to its own process), this one to
/// measurement.
/// </summary>
internal static unsafe partial class BenchLibc
{
    private const string Libc = "libc";

    [LibraryImport(Libc, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint len, int prot, int flags, int fd, long offset);

    [LibraryImport(Libc, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint len);

    [LibraryImport(Libc, EntryPoint = "pipe2", SetLastError = true)]
    public static partial int Pipe2(int* fds, int flags);

    [LibraryImport(Libc, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport(Libc, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "readv", SetLastError = true)]
    public static partial nint Readv(int fd, IoVec* iov, int iovcnt);

    [LibraryImport(Libc, EntryPoint = "writev", SetLastError = true)]
    public static partial nint Writev(int fd, IoVec* iov, int iovcnt);

    [LibraryImport(Libc, EntryPoint = "preadv", SetLastError = true)]
    public static partial nint Preadv(int fd, IoVec* iov, int iovcnt, long offset);

    [LibraryImport(Libc, EntryPoint = "pwritev", SetLastError = true)]
    public static partial nint Pwritev(int fd, IoVec* iov, int iovcnt, long offset);

    [LibraryImport(Libc, EntryPoint = "process_vm_readv", SetLastError = true)]
    public static partial nint ProcessVmReadv(int pid, IoVec* local, nuint liovcnt, IoVec* remote, nuint riovcnt, nuint flags);

    [LibraryImport(Libc, EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGettime(int clock, long* timespec);

    /// <summary>The calling thread's CPU time, user and system, in seconds
    /// (<c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>): time the thread spent preempted by other
    /// processes does not count, time in the kernel on its behalf does.</summary>
    public static double ThreadCpuSeconds()
    {
        long* ts = stackalloc long[2];
        if (ClockGettime(Clock.ThreadCpuTimeId, ts) != 0)
            throw new InvalidOperationException($"clock_gettime failed: errno {Marshal.GetLastPInvokeError()}");
        return ts[0] + ts[1] * 1e-9;
    }

    [LibraryImport(Libc, EntryPoint = "getpid")]
    public static partial int Getpid();

    /// <summary>A call's result, or an exception naming the call and its errno.</summary>
    public static long Check(nint ret, string call) =>
        ret >= 0 ? ret : throw new InvalidOperationException($"host {call} failed: errno {Marshal.GetLastPInvokeError()}");
}
