using Kiov.Iov;
using System.Runtime.InteropServices;

namespace Kiov.Trace;

/// <summary>
/// The libc functions <see cref="HostSyscalls"/> calls, declared with their exact C types
/// (<c>size_t</c> = <c>nuint</c>, <c>ssize_t</c> = <c>nint</c>, <c>off_t</c> = <c>long</c>) and
/// none of them variadic. Each sets errno; read it with <see cref="Marshal.GetLastPInvokeError"/>.
/// </summary>
internal static unsafe partial class HostLibc
{
    private const string Libc = "libc";

    /// <summary><c>MAP_FAILED</c>.</summary>
    public static readonly nint MapFailed = -1;

    /// <summary><c>SIGPIPE</c>.</summary>
    public const int SigPipe = 13;

    /// <summary><c>SIG_IGN</c>.</summary>
    public static readonly nint SigIgn = 1;

    /// <summary><c>O_NONBLOCK</c>.</summary>
    public const int ONonblock = 0x800;

    /// <summary><c>SPLICE_F_NONBLOCK</c>.</summary>
    public const uint SpliceNonblock = 2;

    [LibraryImport(Libc, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint len, int prot, int flags, int fd, long offset);

    [LibraryImport(Libc, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint len);

    [LibraryImport(Libc, EntryPoint = "mprotect", SetLastError = true)]
    public static partial int Mprotect(nint addr, nuint len, int prot);

    [LibraryImport(Libc, EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(nint addr, nuint len, int advice);

    [LibraryImport(Libc, EntryPoint = "pipe2", SetLastError = true)]
    public static partial int Pipe2(int* fds, int flags);

    [LibraryImport(Libc, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport(Libc, EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, nint buf, nuint count);

    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, nint buf, nuint count);

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

    [LibraryImport(Libc, EntryPoint = "process_vm_writev", SetLastError = true)]
    public static partial nint ProcessVmWritev(int pid, IoVec* local, nuint liovcnt, IoVec* remote, nuint riovcnt, nuint flags);

    [LibraryImport(Libc, EntryPoint = "vmsplice", SetLastError = true)]
    public static partial nint Vmsplice(int fd, IoVec* iov, nuint nrSegs, uint flags);

    [LibraryImport(Libc, EntryPoint = "splice", SetLastError = true)]
    public static partial nint Splice(int fdIn, long* offIn, int fdOut, long* offOut, nuint len, uint flags);

    [LibraryImport(Libc, EntryPoint = "getpid")]
    public static partial int Getpid();

    [LibraryImport(Libc, EntryPoint = "signal", SetLastError = true)]
    public static partial nint Signal(int signum, nint handler);

    /// <summary>A libc result as a system call returns it: the value, or <c>-errno</c> when it is -1.</summary>
    public static long Result(nint ret) => ret == -1 ? -Marshal.GetLastPInvokeError() : ret;
}
