using Kiov.Fs;
using Kiov.Iov;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Fs;

public class PipeTests
{
    [Fact]
    public void LowestFreeDescriptorFirst()
    {
        using var k = new FsFixture();
        var (r, w) = k.Pipe();
        Assert.Equal((0, 1), (r, w));
        Assert.Equal(0L, Syscalls.Close(k.P, r));
        Assert.Equal(0L, Syscalls.MemfdCreate(k.P, "x", 0));
        Assert.Equal(-Errno.EBADF, Syscalls.Close(k.P, 7));
    }

    [Fact]
    public void SmallWritesMergeIntoOneSlot()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        var (r, w) = k.Pipe();
        var pipe = k.PipeOf(r);
        for (int i = 0; i < 10; i++) Assert.Equal(100L, Syscalls.Write(k.P, w, A, 100));
        Assert.Equal(1, pipe.Occupancy);
        Assert.Equal(1000L, pipe.Bytes);
        Assert.Equal(4096L, Syscalls.Write(k.P, w, A, 4096));
        Assert.Equal(2, pipe.Occupancy); // a whole page never merges
    }

    [Fact]
    public void FullRingGivesPartialThenEagain()
    {
        using var k = new FsFixture();
        k.Map(A, 0x20000);
        var (r, w) = k.Pipe();
        Assert.Equal(65536L, Syscalls.Write(k.P, w, A, 70000));
        Assert.Equal(-Errno.EAGAIN, Syscalls.Write(k.P, w, A, 1));
        Assert.Equal(4096L, Syscalls.Read(k.P, r, A, 4096));
        Assert.Equal(4096L, Syscalls.Write(k.P, w, A, 4097)); // the 1-byte head cannot merge into a full page; one slot takes a page
        Assert.Equal(-Errno.EAGAIN, Syscalls.Write(k.P, w, A, 1));
    }

    [Fact]
    public void PipeBufAtomicity()
    {
        using var k = new FsFixture();
        k.Map(A, 0x20000);
        var (r, w) = k.Pipe();
        Assert.Equal(15 * 4096L + 4000, Syscalls.Write(k.P, w, A, 15 * 4096 + 4000));
        Assert.Equal(-Errno.EAGAIN, Syscalls.Write(k.P, w, A, 200));  // 96 bytes free in the last buffer: all or nothing
        Assert.Equal(96L, Syscalls.Write(k.P, w, A, 96));
    }

    [Fact]
    public void WritevFaultInsideTheFirstPageIsRefusedWhole()
    {
        using var k = new FsFixture();
        k.Map(A, 16384);
        var (r, w) = k.Pipe();
        Assert.Equal(-Errno.EFAULT, Syscalls.Writev(k.P, w, [new(A, 100), new(A + 0x10000, 5000)]));
        Assert.Equal(-Errno.EAGAIN, Syscalls.Readv(k.P, r, [new(A + 0x3000, 4096)]));
        Assert.Equal(-Errno.EFAULT, Syscalls.Writev(k.P, w, [new(A, 100), new(0xffff888000000000, 5000)]));
    }

    [Fact]
    public void ReadFaultAfterAWholeBufferReturnsThatBuffer()
    {
        using var k = new FsFixture();
        k.Map(A, 16384);
        var (r, w) = k.Pipe();
        Assert.Equal(5100L, Syscalls.Writev(k.P, w, [new(A, 100), new(A + 0x1000, 5000)]));
        Assert.Equal(4096L, Syscalls.Readv(k.P, r, [new(A + 0x2000, 4096), new(A + 0x10000, 4096)]));
        Assert.Equal(1004L, Syscalls.Readv(k.P, r, [new(A + 0x2000, 4096), new(A + 0x10000, 4096)]));
    }

    [Fact]
    public void ClosedReaderGivesEpipeAndClosedWriterEof()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        var (r, w) = k.Pipe();
        Assert.Equal(10L, Syscalls.Write(k.P, w, A, 10));
        Assert.Equal(0L, Syscalls.Close(k.P, w));
        Assert.Equal(10L, Syscalls.Read(k.P, r, A, 100));
        Assert.Equal(0L, Syscalls.Read(k.P, r, A, 100));
        var (r2, w2) = k.Pipe();
        Assert.Equal(0L, Syscalls.Close(k.P, r2));
        Assert.Equal(-Errno.EPIPE, Syscalls.Write(k.P, w2, A, 10));
        Assert.Equal(0L, Syscalls.Write(k.P, w2, A, 0));
    }

    [Fact]
    public void WrongEndsAndOffsets()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        var (r, w) = k.Pipe();
        Assert.Equal(-Errno.EBADF, Syscalls.Write(k.P, r, A, 1));
        Assert.Equal(-Errno.EBADF, Syscalls.Read(k.P, w, A, 1));
        Assert.Equal(-Errno.EBADF, Syscalls.Readv(k.P, w, new IoVec[1025])); // mode before import
        Assert.Equal(-Errno.ESPIPE, Syscalls.Preadv(k.P, r, [new(A, 1)], 0));
        Assert.Equal(-Errno.EINVAL, Syscalls.Preadv(k.P, 99, [new(A, 1)], -1)); // position before fd
        Assert.Equal(-Errno.ESPIPE, Syscalls.Lseek(k.P, r, 0, 0));
        Assert.Equal(-Errno.EINVAL, Syscalls.Ftruncate(k.P, w, 10));
        Assert.Equal(-Errno.EFAULT, Syscalls.Read(k.P, r, A, ulong.MaxValue));
        Assert.Equal(-Errno.EINVAL, Syscalls.Readv(k.P, r, [new(A, ulong.MaxValue)]));
    }

    [Fact]
    public void SetPipeSizeRules()
    {
        using var k = new FsFixture();
        k.Map(A, 0x10000);
        var (r, w) = k.Pipe();
        Assert.Equal(65536L, Syscalls.Fcntl(k.P, w, Syscalls.FGetPipeSize, 0));
        Assert.Equal(8192L, Syscalls.Fcntl(k.P, w, Syscalls.FSetPipeSize, 5000));
        Assert.Equal(8192L, Syscalls.Write(k.P, w, A, 0x10000));
        Assert.Equal(-Errno.EBUSY, Syscalls.Fcntl(k.P, w, Syscalls.FSetPipeSize, 4096));
        Assert.Equal(-Errno.EPERM, Syscalls.Fcntl(k.P, w, Syscalls.FSetPipeSize, 2 << 20));
        Assert.Equal(-Errno.EBUSY, Syscalls.Fcntl(k.P, w, Syscalls.FSetPipeSize, 1)); // two buffers still queued
        Assert.Equal(8192L, Syscalls.Read(k.P, r, A, 0x10000));
        Assert.Equal(4096L, Syscalls.Fcntl(k.P, w, Syscalls.FSetPipeSize, 0)); // rounds up to a page
        Assert.Equal(-Errno.EBADF, Syscalls.Fcntl(k.P, 99, Syscalls.FSetPipeSize, 0));
    }
}
