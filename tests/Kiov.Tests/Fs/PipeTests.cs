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
        Assert.Equal(65536L, Syscalls.Fcntl(k.P, w, Fcntl.GetPipeSize, 0));
        Assert.Equal(8192L, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 5000));
        Assert.Equal(8192L, Syscalls.Write(k.P, w, A, 0x10000));
        Assert.Equal(-Errno.EBUSY, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 4096));
        Assert.Equal(-Errno.EPERM, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 2 << 20));
        Assert.Equal(-Errno.EBUSY, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 1)); // two buffers still queued
        Assert.Equal(8192L, Syscalls.Read(k.P, r, A, 0x10000));
        Assert.Equal(4096L, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 0)); // rounds up to a page
        Assert.Equal(-Errno.EBADF, Syscalls.Fcntl(k.P, 99, Fcntl.SetPipeSize, 0));
    }

    [Fact]
    public void SplicingAWholeBufferToAnotherPipeKeepsItMergeable()
    {
        // splice_pipe_to_pipe moves a whole buffer with its flags; only a split-off part loses
        // PIPE_BUF_FLAG_CAN_MERGE. Host (6.18): B of one slot, splice the whole 10-byte buffer in,
        // a 10-byte write to B merges (10); splice 5 of 10 and the same write gets EAGAIN.
        foreach (var (len, expected) in new[] { (10UL, 10L), (5UL, -Errno.EAGAIN) })
        {
            using var k = new FsFixture();
            k.Map(A, 4096);
            var (ar, aw) = k.Pipe();
            var (br, bw) = k.Pipe();
            Assert.Equal(4096L, Syscalls.Fcntl(k.P, bw, Fcntl.SetPipeSize, 4096));
            Assert.Equal(10L, Syscalls.Write(k.P, aw, A, 10));
            Assert.Equal((long)len, Syscalls.Splice(k.P, ar, null, bw, null, len, SpliceFlags.NonBlock));
            Assert.Equal(expected, Syscalls.Write(k.P, bw, A, 10));
        }
    }

    [Fact]
    public void SplicePipeToPipeWaitsForInputBeforeLookingAtTheOutputsReaders()
    {
        // ipipe_prep runs before anything looks at opipe. Host (6.18): an empty input with a writer
        // into an output without readers is EAGAIN (non-blocking); with no writer either, EPIPE.
        using var k = new FsFixture();
        var (ar, aw) = k.Pipe();
        var (br, bw) = k.Pipe();
        Assert.Equal(0L, Syscalls.Close(k.P, br));
        Assert.Equal(-Errno.EAGAIN, Syscalls.Splice(k.P, ar, null, bw, null, 10, SpliceFlags.NonBlock));
        Assert.Equal(-Errno.EAGAIN, Syscalls.Splice(k.P, ar, null, bw, null, 10, 0)); // the files are O_NONBLOCK
        Assert.Equal(0L, Syscalls.Close(k.P, aw));
        Assert.Equal(-Errno.EPIPE, Syscalls.Splice(k.P, ar, null, bw, null, 10, SpliceFlags.NonBlock));
    }

    [Fact]
    public void SetPipeSizeTakesTheArgumentAsAnUnsignedInt()
    {
        // pipe_fcntl's argument is an unsigned int: the upper half of fcntl's long is dropped.
        // Host (6.18): 0x1_0000_1000 -> 4096, 0x1_0000_0000 -> 4096 (0 rounds up to a page),
        // 0x8000_0000 -> EPERM, 0x8000_0001 -> EINVAL, 0x1_0010_0001 -> EPERM.
        using var k = new FsFixture();
        var (r, w) = k.Pipe();
        Assert.Equal(4096L, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 0x1_0000_1000));
        Assert.Equal(4096L, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 0x1_0000_0000));
        Assert.Equal(-Errno.EPERM, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 0x8000_0000));
        Assert.Equal(-Errno.EINVAL, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 0x8000_0001));
        Assert.Equal(-Errno.EPERM, Syscalls.Fcntl(k.P, w, Fcntl.SetPipeSize, 0x1_0010_0001));
    }
}
