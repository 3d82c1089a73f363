using Kiov.Fs;
using Kiov.Iov;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Fs;

/// <summary>
/// The file reference each system call takes from a descriptor (<see cref="ScopedFile"/>, the model of
/// <c>CLASS(fd, f)</c>) is dropped on every way out of the call, the error returns after the lookup
/// included: a reference left behind would keep a pipe's write end open after its descriptor is
/// closed, so the reader would see EAGAIN where Linux gives end of file.
/// </summary>
public class ScopedFileTests
{
    /// <summary>Each call is made on the write end <c>w</c> of a fresh pipe (or with it as the file
    /// argument) and fails after taking its reference; the expected errno is Linux's.</summary>
    public static TheoryData<string, long> FailingCalls() => new()
    {
        { "ftruncate", -Errno.EINVAL },
        { "fcntl", -Errno.EINVAL },
        { "fcntl_seals", -Errno.EINVAL },
        { "open_proc_fd", -Errno.EINVAL },
        { "mmap", -Errno.EACCES },
        { "pwrite", -Errno.ESPIPE },
        { "pwritev", -Errno.ESPIPE },
        { "readv", -Errno.EBADF },
        { "lseek", -Errno.EINVAL },
        { "vmsplice", -Errno.EFAULT },
        { "tee_in", -Errno.EBADF },
        { "tee_out", -Errno.EINVAL },
        { "splice_in", -Errno.EBADF },
        { "splice_out", -Errno.EINVAL },
    };

    [Theory]
    [MemberData(nameof(FailingCalls))]
    public void A_failing_call_drops_its_file_reference(string call, long expected)
    {
        using var k = new FsFixture();
        k.Map(A, 0x4000);
        var (r, w) = k.Pipe();
        const int closed = 200; // never opened
        long got = call switch
        {
            "ftruncate" => Syscalls.Ftruncate(k.P, w, 0),
            "fcntl" => Syscalls.Fcntl(k.P, w, 12345, 0),
            "fcntl_seals" => Syscalls.Fcntl(k.P, w, Fcntl.GetSeals, 0),
            "open_proc_fd" => Syscalls.OpenProcFd(k.P, w, OpenFlags.AccMode),
            "mmap" => Syscalls.Mmap(k.P, A, 0x1000, Prot.Read, MapFlags.Shared | MapFlags.Fixed, w, 0),
            "pwrite" => Syscalls.Pwrite(k.P, w, A, 1, 0),
            "pwritev" => Syscalls.Pwritev(k.P, w, [new(A, 1)], 0),
            "readv" => Syscalls.Readv(k.P, w, [new(A, 1)]),
            "lseek" => Syscalls.Lseek(k.P, w, 0, Seek.Max + 1),
            "vmsplice" => Syscalls.Vmsplice(k.P, w, [new(0x1000, 1)], 0),
            "tee_in" => Syscalls.Tee(k.P, w, r, 1, 0),
            "tee_out" => Syscalls.Tee(k.P, r, w, 1, 0),
            "splice_in" => Syscalls.Splice(k.P, w, null, closed, null, 1, 0),
            "splice_out" => Syscalls.Splice(k.P, r, null, w, null, 1, 0),
            _ => throw new ArgumentException(call),
        };
        Assert.Equal(expected, got);
        Assert.Equal(0L, Syscalls.Close(k.P, w));
        Assert.Equal(0L, Syscalls.Read(k.P, r, A, 1)); // end of file: no reference kept the write end open
    }

    [Fact]
    public void A_call_that_succeeds_drops_its_file_reference_too()
    {
        using var k = new FsFixture();
        k.Map(A, 0x4000);
        var (r, w) = k.Pipe();
        k.Poke(A, [1, 2, 3]);
        Assert.Equal(3L, Syscalls.Writev(k.P, w, [new(A, 3)]));
        Assert.Equal(3L, Syscalls.Read(k.P, r, A + 0x1000, 3));
        Assert.Equal(65536L, Syscalls.Fcntl(k.P, w, Fcntl.GetPipeSize, 0));
        Assert.Equal(0L, Syscalls.Close(k.P, w));
        Assert.Equal(0L, Syscalls.Readv(k.P, r, [new(A, 1)]));
    }
}
