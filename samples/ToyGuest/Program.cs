using System.Text;
using Kiov.Abi;

namespace ToyGuest;

/// <summary>
/// A toy guest whose I/O layer is Kiov, running on RAM the emulator allocated itself. The
/// "guest program" below maps its memory, stores a
/// message in two pieces, gathers them into a memfd with writev, reads the file back with
/// preadv, sends it through a pipe with writev and scatters it out again with readv; then it
/// hands the kernel a pointer into unmapped memory and gets EFAULT. Every result is printed;
/// the exit status is 0 only if each is what Linux returns for the same calls.
/// </summary>
public static class Program
{
    private const ulong Ram = 0x400000;      // the guest's RAM: 64 KiB at 4 MiB
    private const ulong RamSize = 0x10000;
    private const ulong Hole = 0x800000;     // never mapped

    /// <summary>Runs the guest and prints what it saw.</summary>
    public static int Main()
    {
        using var machine = new GuestMachine(ramBytes: 16 << 20);
        var checks = new Checks(Console.Out);

        long ram = machine.Syscall(SyscallNumbers.Mmap, Ram, RamSize, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, unchecked((ulong)-1), 0);
        checks.Expect("mmap guest RAM", ram, (long)Ram);

        // The guest stores its message in two pieces, 4 KiB apart, and an iovec array naming them.
        byte[] hello = Encoding.ASCII.GetBytes("hello from ");
        byte[] guest = Encoding.ASCII.GetBytes("the toy guest\n");
        machine.Store(Ram + 0x1000, hello);
        machine.Store(Ram + 0x2000, guest);
        ulong iov = Ram + 0x100;
        machine.Store64(iov, Ram + 0x1000);
        machine.Store64(iov + 8, (ulong)hello.Length);
        machine.Store64(iov + 16, Ram + 0x2000);
        machine.Store64(iov + 24, (ulong)guest.Length);
        int total = hello.Length + guest.Length;
        checks.Expect("the guest's bytes are in the emulator's RAM block", machine.RamHolds("the toy guest\n"u8) ? 1 : 0, 1);

        // The guest starts with no open files (no stdin, stdout or stderr), so descriptors are
        // handed out from 0, as Linux does for a process started with all three closed.
        machine.Store(Ram + 0x200, "toy\0"u8);
        long memfd = machine.Syscall(SyscallNumbers.MemfdCreate, Ram + 0x200, 0);
        checks.Expect("memfd_create", memfd, 0);
        checks.Expect("writev to the memfd (2 segments)", machine.Syscall(SyscallNumbers.Writev, (ulong)memfd, iov, 2), total);

        // preadv the whole file back into one buffer.
        ulong back = Ram + 0x3000;
        machine.Store64(iov + 32, back);
        machine.Store64(iov + 40, 4096);
        checks.Expect("preadv from the memfd at 0", machine.Syscall(SyscallNumbers.Preadv, (ulong)memfd, iov + 32, 1, 0), total);
        checks.ExpectText("the file holds", machine, back, total, "hello from the toy guest\n");

        // Through a pipe: writev the file's copy, readv it out in a 5-byte and a larger piece.
        checks.Expect("pipe2 (non-blocking)", machine.Syscall(SyscallNumbers.Pipe2, Ram + 0x300, OpenFlags.NonBlock), 0);
        Span<byte> fds = stackalloc byte[8];
        machine.Load(Ram + 0x300, fds);
        int readFd = BitConverter.ToInt32(fds), writeFd = BitConverter.ToInt32(fds[4..]);
        checks.Expect("pipe read end", readFd, 1);
        checks.Expect("pipe write end", writeFd, 2);
        machine.Store64(iov + 48, back);
        machine.Store64(iov + 56, (ulong)total);
        checks.Expect("writev to the pipe", machine.Syscall(SyscallNumbers.Writev, (ulong)writeFd, iov + 48, 1), total);
        machine.Store64(iov + 64, Ram + 0x4000);
        machine.Store64(iov + 72, 5);
        machine.Store64(iov + 80, Ram + 0x5000);
        machine.Store64(iov + 88, 4096);
        checks.Expect("readv from the pipe (5 + 4096)", machine.Syscall(SyscallNumbers.Readv, (ulong)readFd, iov + 64, 2), total);
        checks.ExpectText("first segment", machine, Ram + 0x4000, 5, "hello");
        checks.ExpectText("second segment", machine, Ram + 0x5000, total - 5, " from the toy guest\n");

        // A pointer into memory the guest never mapped: the kernel refuses it, nothing moves.
        machine.Store64(iov + 96, Hole);
        machine.Store64(iov + 104, 16);
        checks.Expect("writev from unmapped memory", machine.Syscall(SyscallNumbers.Writev, (ulong)writeFd, iov + 96, 1), -Errno.EFAULT);
        checks.Expect("readv of the empty pipe", machine.Syscall(SyscallNumbers.Readv, (ulong)readFd, iov + 64, 2), -Errno.EAGAIN);
        checks.Expect("readv with its iovec array unmapped", machine.Syscall(SyscallNumbers.Readv, (ulong)readFd, Hole, 1), -Errno.EFAULT);

        foreach (long fd in new long[] { memfd, readFd, writeFd })
            checks.Expect($"close {fd}", machine.Syscall(SyscallNumbers.Close, (ulong)fd), 0);
        checks.Expect("frames leaked after the guest exits", machine.LeakedFrames(), 0);
        return checks.Report();
    }
}
