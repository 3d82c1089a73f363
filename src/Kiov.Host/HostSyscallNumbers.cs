using System.Runtime.InteropServices;
using static Kiov.Abi.SyscallNumbers;

namespace Kiov.Trace;

/// <summary>
/// What the host back end needs beside the x86-64 system call numbers (<see cref="Abi.SyscallNumbers"/>):
/// their names for messages, and the check that this is x86-64, the one architecture it runs on
/// (<see cref="EnsureSupported"/> says so in one line elsewhere).
/// </summary>
internal static class HostSyscallNumbers
{
    /// <summary>The name of system call <paramref name="nr"/>, for messages.</summary>
    public static string Name(long nr) => nr switch
    {
        Read => "read", Write => "write", Close => "close", Lseek => "lseek", Mmap => "mmap",
        Mprotect => "mprotect", Munmap => "munmap", Readv => "readv", Writev => "writev",
        SyscallNumbers.Mremap => "mremap", Msync => "msync", Mincore => "mincore", Madvise => "madvise",
        Dup => "dup", Getpid => "getpid", Kill => "kill", Wait4 => "wait4", SyscallNumbers.Fcntl => "fcntl",
        Ftruncate => "ftruncate", Mlock => "mlock", Munlock => "munlock", Openat => "openat",
        Splice => "splice", Tee => "tee", Vmsplice => "vmsplice", Dup3 => "dup3", Pipe2 => "pipe2",
        Preadv => "preadv", Pwritev => "pwritev", ProcessVmReadv => "process_vm_readv",
        ProcessVmWritev => "process_vm_writev", MemfdCreate => "memfd_create", Mlock2 => "mlock2",
        Preadv2 => "preadv2", Pwritev2 => "pwritev2",
        _ => $"system call {nr}",
    };

    /// <summary>Throws unless this process runs on x86-64, the one architecture whose numbers
    /// <see cref="Abi.SyscallNumbers"/> holds.</summary>
    /// <exception cref="PlatformNotSupportedException">Another architecture.</exception>
    public static void EnsureSupported()
    {
        if (RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
            throw new PlatformNotSupportedException(
                $"the host back end knows the x86-64 system call numbers only, not {RuntimeInformation.ProcessArchitecture}'s");
    }
}
