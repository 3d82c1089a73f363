using System.Runtime.InteropServices;
using Kiov;
using Kiov.Abi;
using Kiov.Fs;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Uaccess;

namespace ToyGuest;

/// <summary>
/// The host side of a toy emulator: it allocates the guest's RAM itself, boots a Kiov machine
/// whose physical memory is that very block (PhysicalMemory.OverCallerMemory), creates one
/// process, the guest, and forwards the guest's system calls to Kiov the way an emulator's
/// syscall trap would. The
/// guest's pointers are guest virtual addresses in its own Kiov address space; every byte the
/// guest's "CPU" loads or stores goes through Kiov's user access, so a bad pointer faults there
/// exactly as it would in Linux.
/// </summary>
internal sealed unsafe class GuestMachine : IDisposable
{
    private readonly byte* _ram;       // the emulator's own allocation: the guest's physical RAM
    private readonly long _ramBytes;
    private readonly Kernel _kernel;
    private readonly Process _guest;

    /// <summary>Allocates <paramref name="ramBytes"/> of guest RAM and boots a machine on it with one guest process.</summary>
    public GuestMachine(long ramBytes)
    {
        _ramBytes = ramBytes;
        _ram = (byte*)NativeMemory.AlignedAlloc((nuint)ramBytes, 4096);
        _kernel = Kernel.OnMemory(PhysicalMemory.OverCallerMemory(_ram, ramBytes));
        _guest = _kernel.CreateProcess();
    }

    /// <summary>Whether <paramref name="bytes"/> appear anywhere in the emulator's RAM block: the
    /// guest's memory is made of its frames, so what the guest stores lands there.</summary>
    public bool RamHolds(ReadOnlySpan<byte> bytes) => new ReadOnlySpan<byte>(_ram, checked((int)_ramBytes)).IndexOf(bytes) >= 0;

    /// <summary>The guest CPU stores bytes at a guest address; false if it faulted part-way.</summary>
    public bool Store(ulong addr, ReadOnlySpan<byte> bytes) => UserAccess.CopyToUser(_guest.Mm, addr, bytes) == 0;

    /// <summary>The guest CPU stores a little-endian 64-bit word.</summary>
    public bool Store64(ulong addr, ulong value)
    {
        Span<byte> word = stackalloc byte[8];
        BitConverter.TryWriteBytes(word, value);
        return Store(addr, word);
    }

    /// <summary>The guest CPU loads bytes from a guest address; false if it faulted part-way.</summary>
    public bool Load(ulong addr, Span<byte> into) => UserAccess.CopyFromUser(_guest.Mm, into, addr) == 0;

    /// <summary>The syscall trap: the number and six argument registers, as on x86-64; the result is
    /// what the guest finds in its return register (a count, or -errno).</summary>
    public long Syscall(int nr, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0) => nr switch
    {
        SyscallNumbers.Read => Syscalls.Read(_guest, (int)a0, a1, a2),
        SyscallNumbers.Write => Syscalls.Write(_guest, (int)a0, a1, a2),
        SyscallNumbers.Close => Syscalls.Close(_guest, (int)a0),
        SyscallNumbers.Mmap => Syscalls.Mmap(_guest, a0, a1, (int)a2, (int)a3, (int)a4, (long)a5),
        SyscallNumbers.Readv => Vector(a1, a2, iov => Syscalls.Readv(_guest, (int)a0, iov)),
        SyscallNumbers.Writev => Vector(a1, a2, iov => Syscalls.Writev(_guest, (int)a0, iov)),
        SyscallNumbers.Preadv => Vector(a1, a2, iov => Syscalls.Preadv(_guest, (int)a0, iov, (long)a3)),
        SyscallNumbers.Pwritev => Vector(a1, a2, iov => Syscalls.Pwritev(_guest, (int)a0, iov, (long)a3)),
        SyscallNumbers.Pipe2 => Pipe2(a0, (int)a1),
        SyscallNumbers.MemfdCreate => MemfdCreate(a0, (uint)a1),
        _ => -Errno.ENOSYS,
    };

    private delegate long VectorCall(ReadOnlySpan<IoVec> iov);

    // The guest passes a pointer to its iovec array; the trap reads the array out of guest memory
    // (16 bytes an entry: base, length) and hands it to Kiov, which checks every segment itself.
    private long Vector(ulong iovAddr, ulong count, VectorCall call)
    {
        if (count > IovLimits.MaxIov) return -Errno.EINVAL;
        var raw = new byte[checked((int)count * 16)];
        if (!Load(iovAddr, raw)) return -Errno.EFAULT;
        var iov = new IoVec[count];
        for (int i = 0; i < iov.Length; i++)
            iov[i] = new IoVec(BitConverter.ToUInt64(raw, 16 * i), BitConverter.ToUInt64(raw, 16 * i + 8));
        return call(iov);
    }

    // pipe2 writes the two descriptors into the guest's int[2], as the kernel's copy_to_user does.
    private long Pipe2(ulong fdsAddr, int flags)
    {
        long ret = Syscalls.Pipe2(_guest, flags, out int r, out int w);
        if (ret < 0) return ret;
        Span<byte> fds = stackalloc byte[8];
        BitConverter.TryWriteBytes(fds, r);
        BitConverter.TryWriteBytes(fds[4..], w);
        if (Store(fdsAddr, fds)) return 0;
        Syscalls.Close(_guest, r);
        Syscalls.Close(_guest, w);
        return -Errno.EFAULT;
    }

    // memfd_create reads its name from a NUL-terminated guest string.
    private long MemfdCreate(ulong nameAddr, uint flags)
    {
        Span<byte> name = stackalloc byte[250];
        int len = 0;
        for (; len < name.Length; len++)
        {
            if (!Load(nameAddr + (ulong)len, name.Slice(len, 1))) return -Errno.EFAULT;
            if (name[len] == 0) break;
        }
        if (len == name.Length) return -Errno.EINVAL;
        return Syscalls.MemfdCreate(_guest, System.Text.Encoding.ASCII.GetString(name[..len]), flags);
    }

    /// <summary>Frames still allocated after the guest is gone (none, if nothing leaked).</summary>
    public int LeakedFrames()
    {
        _guest.Dispose();
        return _kernel.LeakReport().Count;
    }

    /// <summary>Ends the guest, shuts the machine down, then frees the RAM (Kiov never frees memory it was lent).</summary>
    public void Dispose()
    {
        _kernel.Dispose();
        NativeMemory.AlignedFree(_ram);
    }
}
