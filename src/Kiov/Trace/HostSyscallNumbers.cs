using System.Runtime.InteropServices;

namespace Kiov.Trace;

/// <summary>
/// The x86-64 Linux system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) and the flag
/// values the host back end passes with them. The host back end runs on x86-64 only:
/// <see cref="EnsureSupported"/> says so in one line elsewhere.
/// </summary>
internal static class HostSyscallNumbers
{
    public const long Read = 0;
    public const long Write = 1;
    public const long Close = 3;
    public const long Lseek = 8;
    public const long Mmap = 9;
    public const long Mprotect = 10;
    public const long Munmap = 11;
    public const long Readv = 19;
    public const long Writev = 20;
    public const long Mremap = 25;
    public const long Msync = 26;
    public const long Mincore = 27;
    public const long Madvise = 28;
    public const long Dup = 32;
    public const long Getpid = 39;
    public const long Sendto = 44;
    public const long Recvfrom = 45;
    public const long Recvmsg = 47;
    public const long Socketpair = 53;
    public const long Setsockopt = 54;
    public const long Wait4 = 61;
    public const long Kill = 62;
    public const long Fcntl = 72;
    public const long Ftruncate = 77;
    public const long Mlock = 149;
    public const long Munlock = 150;
    public const long ExitGroup = 231;
    public const long Openat = 257;
    public const long Splice = 275;
    public const long Tee = 276;
    public const long Vmsplice = 278;
    public const long Dup3 = 292;
    public const long Pipe2 = 293;
    public const long Preadv = 295;
    public const long Pwritev = 296;
    public const long ProcessVmReadv = 310;
    public const long ProcessVmWritev = 311;
    public const long MemfdCreate = 319;
    public const long Mlock2 = 325;
    public const long Preadv2 = 327;
    public const long Pwritev2 = 328;
    public const long CloseRange = 436;

    /// <summary>The name of system call <paramref name="nr"/>, for messages.</summary>
    public static string Name(long nr) => nr switch
    {
        Read => "read", Write => "write", Close => "close", Lseek => "lseek", Mmap => "mmap",
        Mprotect => "mprotect", Munmap => "munmap", Readv => "readv", Writev => "writev",
        Mremap => "mremap", Msync => "msync", Mincore => "mincore", Madvise => "madvise",
        Dup => "dup", Getpid => "getpid", Kill => "kill", Wait4 => "wait4", Fcntl => "fcntl",
        Ftruncate => "ftruncate", Mlock => "mlock", Munlock => "munlock", Openat => "openat",
        Splice => "splice", Tee => "tee", Vmsplice => "vmsplice", Dup3 => "dup3", Pipe2 => "pipe2",
        Preadv => "preadv", Pwritev => "pwritev", ProcessVmReadv => "process_vm_readv",
        ProcessVmWritev => "process_vm_writev", MemfdCreate => "memfd_create", Mlock2 => "mlock2",
        Preadv2 => "preadv2", Pwritev2 => "pwritev2",
        _ => $"system call {nr}",
    };

    /// <summary>Throws unless this process runs on x86-64, the one architecture whose numbers
    /// are above.</summary>
    /// <exception cref="PlatformNotSupportedException">Another architecture.</exception>
    public static void EnsureSupported()
    {
        if (RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
            throw new PlatformNotSupportedException(
                $"the host back end knows the x86-64 system call numbers only, not {RuntimeInformation.ProcessArchitecture}'s");
    }
}
