using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Kiov.Iov;
using static Kiov.Abi.SyscallNumbers;

namespace Kiov.Trace;

// The ops of docs/trace-format.md version 2 on the host: raw system calls through the host-side process, with
// what the kernel reads or writes beside trace memory (iovec arrays, a path, a mincore vector, the
// bytes of a poke) in the scratch buffer.
internal sealed partial class HostSyscalls
{
    private const int PokeData = 4096;

    /// <inheritdoc/>
    public long Memfd(uint flags)
    {
        kernel.WriteScratch(0, "kiov\0"u8);
        return AddFd(kernel.Syscall(MemfdCreate, (long)kernel.ScratchAddress, flags));
    }

    /// <inheritdoc/>
    public long Reopen(int fd, int flags)
    {
        byte[] path = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"/proc/self/fd/{Real(fd)}\0"));
        kernel.WriteScratch(0, path);
        return AddFd(kernel.Syscall(Openat, At.FdCwd, (long)kernel.ScratchAddress, flags));
    }

    /// <inheritdoc/>
    public long Dup(int fd) => AddFd(kernel.Syscall(SyscallNumbers.Dup, Real(fd)));

    /// <inheritdoc/>
    public long Lseek(int fd, long offset, int whence) => kernel.Syscall(SyscallNumbers.Lseek, Real(fd), offset, whence);

    /// <inheritdoc/>
    public long Fcntl(int fd, int cmd, ulong arg) => kernel.Syscall(SyscallNumbers.Fcntl, Real(fd), cmd, (long)arg);

    /// <inheritdoc/>
    public long Tee(int fdIn, int fdOut, ulong len) =>
        kernel.Syscall(SyscallNumbers.Tee, Real(fdIn), Real(fdOut), (long)len, SpliceFlags.NonBlock);

    // The raw preadv2/pwritev2 take the offset as two halves and then the flags; on a 64-bit kernel
    // the low half is all of the offset.
    /// <inheritdoc/>
    public long Preadv2(int fd, ReadOnlySpan<IoVec> iov, long offset, int flags) =>
        Vector(SyscallNumbers.Preadv2, fd, iov, offset, 0, flags);

    /// <inheritdoc/>
    public long Pwritev2(int fd, ReadOnlySpan<IoVec> iov, long offset, int flags) =>
        Vector(SyscallNumbers.Pwritev2, fd, iov, offset, 0, flags);

    private long Vector(long nr, int fd, ReadOnlySpan<IoVec> iov, long a3, long a4, long a5) =>
        kernel.Syscall(nr, Real(fd), (long)PutIovecs(iov, 0, kernel.ScratchSize), iov.Length, a3, a4, a5);

    /// <inheritdoc/>
    public long VectorAt(VectorCall call, int fd, ulong iovAddr, ulong iovcnt, long offset, int flags)
    {
        long f = Real(fd), a = (long)iovAddr, n = (long)iovcnt;
        return call switch
        {
            VectorCall.Readv => kernel.Syscall(SyscallNumbers.Readv, f, a, n),
            VectorCall.Writev => kernel.Syscall(SyscallNumbers.Writev, f, a, n),
            VectorCall.Preadv => kernel.Syscall(SyscallNumbers.Preadv, f, a, n, offset, 0),
            VectorCall.Pwritev => kernel.Syscall(SyscallNumbers.Pwritev, f, a, n, offset, 0),
            VectorCall.Preadv2 => kernel.Syscall(SyscallNumbers.Preadv2, f, a, n, offset, 0, flags),
            VectorCall.Pwritev2 => kernel.Syscall(SyscallNumbers.Pwritev2, f, a, n, offset, 0, flags),
            VectorCall.Vmsplice => kernel.Syscall(SyscallNumbers.Vmsplice, f, a, n, SpliceFlags.NonBlock),
            _ => throw new ArgumentOutOfRangeException(nameof(call)),
        };
    }

    /// <inheritdoc/>
    public long ProcessVmAt(bool write, ulong localAddr, ulong localCnt, ulong remoteAddr, ulong remoteCnt) =>
        kernel.Syscall(write ? SyscallNumbers.ProcessVmWritev : SyscallNumbers.ProcessVmReadv,
            pid, (long)localAddr, (long)localCnt, (long)remoteAddr, (long)remoteCnt, 0);

    /// <inheritdoc/>
    public long Poke(ulong addr, ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (bytes.Length > kernel.ScratchSize - PokeData) throw new ArgumentException("poke is larger than the runner's buffer", nameof(bytes));
        kernel.WriteScratch(PokeData, bytes);
        Span<IoVec> pair = [new IoVec(kernel.ScratchAddress + PokeData, (ulong)bytes.Length), new IoVec(addr, (ulong)bytes.Length)];
        kernel.WriteScratch(0, MemoryMarshal.AsBytes(pair));
        return kernel.Syscall(SyscallNumbers.ProcessVmWritev, pid, (long)kernel.ScratchAddress, 1, (long)kernel.ScratchAddress + 16, 1, 0);
    }

    /// <inheritdoc/>
    public long Mremap(ulong addr, ulong oldLen, ulong newLen, int flags, ulong newAddr) =>
        kernel.Syscall(SyscallNumbers.Mremap, (long)addr, (long)oldLen, (long)newLen, flags, (long)newAddr);

    /// <inheritdoc/>
    public long Mlock(ulong addr, ulong len) => kernel.Syscall(SyscallNumbers.Mlock, (long)addr, (long)len);

    /// <inheritdoc/>
    public long Munlock(ulong addr, ulong len) => kernel.Syscall(SyscallNumbers.Munlock, (long)addr, (long)len);

    /// <inheritdoc/>
    public long Msync(ulong addr, ulong len, int flags) => kernel.Syscall(SyscallNumbers.Msync, (long)addr, (long)len, flags);

    /// <inheritdoc/>
    public long Mincore(ulong addr, ulong len, Span<byte> vec)
    {
        if (vec.Length > kernel.ScratchSize) throw new ArgumentException("the mincore vector is larger than the runner's buffer", nameof(vec));
        long ret = kernel.Syscall(SyscallNumbers.Mincore, (long)addr, (long)len, (long)kernel.ScratchAddress);
        if (ret == 0) kernel.ReadScratch(0, vec);
        return ret;
    }
}
