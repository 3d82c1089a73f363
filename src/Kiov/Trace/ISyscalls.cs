using Kiov.Iov;

namespace Kiov.Trace;

/// <summary>
/// The system calls a trace (TRACE.md) is made of. Two back ends implement it: the model
/// (<c>ModelSyscalls</c>, over Kiov's own kernel) and the host (<c>HostSyscalls</c>, the
/// running Linux kernel, called in the executor process kiov-exec). Every method returns what the system call returns:
/// a non-negative result, or <c>-errno</c> with Linux's numbers. File descriptors are
/// trace fds (TRACE.md: the lowest free number from 3 up).
/// </summary>
public interface ISyscalls : IDisposable
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
}
