using Kiov.Iov;
using Kiov.Trace;

namespace Kiov.Tests.Trace;

/// <summary>A stand-in back end whose every call returns <see cref="Ret"/> (hash: the FNV start
/// value; pipe: fds 3 and 4), to test the runner and <c>replay --diff</c> without a kernel.</summary>
internal sealed class FixedSyscalls(long ret) : ISyscalls
{
    public long Ret { get; set; } = ret;

    public bool Disposed { get; private set; }

    /// <summary>What <c>memfd</c> returns instead of <see cref="Ret"/>, to make two stand-ins differ at a known op.</summary>
    public long? MemfdRet { get; init; }

    public long Mmap(ulong addr, ulong len, int prot, int flags, int fd, long offset) => Ret;
    public long Munmap(ulong addr, ulong len) => Ret;
    public long Mprotect(ulong addr, ulong len, int prot) => Ret;
    public long Madvise(ulong addr, ulong len, int advice) => Ret;
    public long Fill(ulong addr, ulong len, uint seed) => Ret;
    public long Hash(ulong addr, ulong len, out ulong hash)
    {
        hash = Fnv1a64.Start;
        return Ret;
    }
    public long Pipe(out int readFd, out int writeFd)
    {
        (readFd, writeFd) = (3, 4);
        return Ret;
    }
    public long Memfd() => MemfdRet ?? Ret;
    public long Memfd(uint flags) => Ret;
    public long Reopen(int fd, int flags) => Ret;
    public long Dup(int fd) => Ret;
    public long Lseek(int fd, long offset, int whence) => Ret;
    public long Fcntl(int fd, int cmd, ulong arg) => Ret;
    public long Tee(int fdIn, int fdOut, ulong len) => Ret;
    public long Preadv2(int fd, ReadOnlySpan<IoVec> iov, long offset, int flags) => Ret;
    public long Pwritev2(int fd, ReadOnlySpan<IoVec> iov, long offset, int flags) => Ret;
    public long VectorAt(VectorCall call, int fd, ulong iovAddr, ulong iovcnt, long offset, int flags) => Ret;
    public long ProcessVmAt(bool write, ulong localAddr, ulong localCnt, ulong remoteAddr, ulong remoteCnt) => Ret;
    public long Poke(ulong addr, ReadOnlySpan<byte> bytes) => Ret;
    public long Mremap(ulong addr, ulong oldLen, ulong newLen, int flags, ulong newAddr) => Ret;
    public long Mlock(ulong addr, ulong len) => Ret;
    public long Munlock(ulong addr, ulong len) => Ret;
    public long Msync(ulong addr, ulong len, int flags) => Ret;
    public long Mincore(ulong addr, ulong len, Span<byte> vec) => Ret;
    public long Ftruncate(int fd, long len) => Ret;
    public long Close(int fd) => Ret;
    public long Read(int fd, ulong addr, ulong len) => Ret;
    public long Write(int fd, ulong addr, ulong len) => Ret;
    public long Readv(int fd, ReadOnlySpan<IoVec> iov) => Ret;
    public long Writev(int fd, ReadOnlySpan<IoVec> iov) => Ret;
    public long Preadv(int fd, ReadOnlySpan<IoVec> iov, long offset) => Ret;
    public long Pwritev(int fd, ReadOnlySpan<IoVec> iov, long offset) => Ret;
    public long ProcessVmReadv(ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote) => Ret;
    public long ProcessVmWritev(ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote) => Ret;
    public long Vmsplice(int fd, ReadOnlySpan<IoVec> iov) => Ret;
    public long Splice(int fdIn, long? offIn, int fdOut, long? offOut, ulong len) => Ret;
    public void Dispose() => Disposed = true;
}
