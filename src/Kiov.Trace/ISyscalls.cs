using Kiov.Iov;

namespace Kiov.Trace;

/// <summary>
/// The system calls a trace (docs/trace-format.md) is made of. Two back ends implement it: the model
/// (<c>ModelSyscalls</c>, over Kiov's own kernel) and the host (<c>HostSyscalls</c>, the
/// running Linux kernel, called in the executor process kiov-exec). Every method returns what the system call returns:
/// a non-negative result, or <c>-errno</c> with Linux's numbers. File descriptors are
/// trace fds (docs/trace-format.md: the lowest free number from 3 up).
/// </summary>
internal interface ISyscalls : IDisposable
{
    /// <summary><c>mmap(addr, len, prot, flags, fd, offset)</c>. <paramref name="prot"/> and
    /// <paramref name="flags"/> use Linux's PROT_* and MAP_* values.</summary>
    long Mmap(ulong addr, ulong len, int prot, int flags, int fd, long offset);

    /// <summary><c>munmap(addr, len)</c>.</summary>
    long Munmap(ulong addr, ulong len);

    /// <summary><c>mprotect(addr, len, prot)</c>.</summary>
    long Mprotect(ulong addr, ulong len, int prot);

    /// <summary><c>madvise(addr, len, advice)</c> with Linux's MADV_* value.</summary>
    long Madvise(ulong addr, ulong len, int advice);

    /// <summary>The trace's <c>fill</c>: writes the fill pattern of <paramref name="seed"/> into
    /// [addr, addr+len) as <c>process_vm_writev(self, [pattern], [[addr, len]])</c> would.</summary>
    long Fill(ulong addr, ulong len, uint seed);

    /// <summary>The trace's <c>hash</c>: reads [addr, addr+len) as <c>process_vm_readv(self, ...)</c>
    /// would and returns the bytes read, with their FNV-1a 64 in <paramref name="hash"/>.</summary>
    long Hash(ulong addr, ulong len, out ulong hash);

    /// <summary><c>pipe2(fds, O_NONBLOCK)</c>.</summary>
    long Pipe(out int readFd, out int writeFd);

    /// <summary><c>memfd_create("kiov", 0)</c>.</summary>
    long Memfd();

    /// <summary><c>ftruncate(fd, len)</c>.</summary>
    long Ftruncate(int fd, long len);

    /// <summary><c>close(fd)</c>.</summary>
    long Close(int fd);

    /// <summary><c>read(fd, addr, len)</c>.</summary>
    long Read(int fd, ulong addr, ulong len);

    /// <summary><c>write(fd, addr, len)</c>.</summary>
    long Write(int fd, ulong addr, ulong len);

    /// <summary><c>readv(fd, iov, n)</c>.</summary>
    long Readv(int fd, ReadOnlySpan<IoVec> iov);

    /// <summary><c>writev(fd, iov, n)</c>.</summary>
    long Writev(int fd, ReadOnlySpan<IoVec> iov);

    /// <summary><c>preadv(fd, iov, n, offset)</c>.</summary>
    long Preadv(int fd, ReadOnlySpan<IoVec> iov, long offset);

    /// <summary><c>pwritev(fd, iov, n, offset)</c>.</summary>
    long Pwritev(int fd, ReadOnlySpan<IoVec> iov, long offset);

    /// <summary><c>process_vm_readv(self, local, remote, 0)</c>.</summary>
    long ProcessVmReadv(ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote);

    /// <summary><c>process_vm_writev(self, local, remote, 0)</c>.</summary>
    long ProcessVmWritev(ReadOnlySpan<IoVec> local, ReadOnlySpan<IoVec> remote);

    /// <summary><c>vmsplice(fd, iov, n, SPLICE_F_NONBLOCK)</c>.</summary>
    long Vmsplice(int fd, ReadOnlySpan<IoVec> iov);

    /// <summary><c>splice(fd_in, off_in, fd_out, off_out, len, SPLICE_F_NONBLOCK)</c>; a null
    /// offset passes NULL.</summary>
    long Splice(int fdIn, long? offIn, int fdOut, long? offOut, ulong len);

    /// <summary><c>memfd_create("kiov", flags)</c> with MFD_* flags.</summary>
    long Memfd(uint flags);

    /// <summary><c>open("/proc/self/fd/&lt;fd&gt;", flags)</c> with O_* flags: a new open file of the same
    /// object, at a new trace fd.</summary>
    long Reopen(int fd, int flags);

    /// <summary><c>dup(fd)</c>.</summary>
    long Dup(int fd);

    /// <summary><c>lseek(fd, offset, whence)</c>.</summary>
    long Lseek(int fd, long offset, int whence);

    /// <summary><c>fcntl(fd, cmd, arg)</c>.</summary>
    long Fcntl(int fd, int cmd, ulong arg);

    /// <summary><c>tee(fd_in, fd_out, len, SPLICE_F_NONBLOCK)</c>.</summary>
    long Tee(int fdIn, int fdOut, ulong len);

    /// <summary><c>preadv2(fd, iov, n, offset, flags)</c> with RWF_* flags.</summary>
    long Preadv2(int fd, ReadOnlySpan<IoVec> iov, long offset, int flags);

    /// <summary><c>pwritev2(fd, iov, n, offset, flags)</c> with RWF_* flags.</summary>
    long Pwritev2(int fd, ReadOnlySpan<IoVec> iov, long offset, int flags);

    /// <summary>A vectored call whose iovec array lies in the process's own memory at
    /// <paramref name="iovAddr"/> (<paramref name="iovcnt"/> entries), read by the kernel.
    /// <paramref name="offset"/> and <paramref name="flags"/> are used by the calls that take them.</summary>
    long VectorAt(VectorCall call, int fd, ulong iovAddr, ulong iovcnt, long offset, int flags);

    /// <summary><c>process_vm_readv</c> (or <c>_writev</c> when <paramref name="write"/>) on the
    /// process itself, with both iovec arrays in its own memory.</summary>
    long ProcessVmAt(bool write, ulong localAddr, ulong localCnt, ulong remoteAddr, ulong remoteCnt);

    /// <summary>The trace's <c>poke</c>: <paramref name="bytes"/> written at <paramref name="addr"/> as
    /// <c>fill</c> writes its pattern.</summary>
    long Poke(ulong addr, ReadOnlySpan<byte> bytes);

    /// <summary><c>mremap(addr, old_len, new_len, flags, new_addr)</c>.</summary>
    long Mremap(ulong addr, ulong oldLen, ulong newLen, int flags, ulong newAddr);

    /// <summary><c>mlock(addr, len)</c>.</summary>
    long Mlock(ulong addr, ulong len);

    /// <summary><c>munlock(addr, len)</c>.</summary>
    long Munlock(ulong addr, ulong len);

    /// <summary><c>msync(addr, len, flags)</c>.</summary>
    long Msync(ulong addr, ulong len, int flags);

    /// <summary><c>mincore(addr, len, vec)</c> into <paramref name="vec"/>, which holds a byte for each
    /// page of the range (the runner's own buffer).</summary>
    long Mincore(ulong addr, ulong len, Span<byte> vec);
}

/// <summary>The vectored calls a trace may give an iovec array in user memory (docs/trace-format.md version 2,
/// <c>iov_addr</c> and <c>iovcnt</c>).</summary>
internal enum VectorCall
{
    /// <summary><c>readv</c>.</summary>
    Readv,
    /// <summary><c>writev</c>.</summary>
    Writev,
    /// <summary><c>preadv</c>.</summary>
    Preadv,
    /// <summary><c>pwritev</c>.</summary>
    Pwritev,
    /// <summary><c>preadv2</c>.</summary>
    Preadv2,
    /// <summary><c>pwritev2</c>.</summary>
    Pwritev2,
    /// <summary><c>vmsplice</c> (with SPLICE_F_NONBLOCK).</summary>
    Vmsplice,
}
