using Kiov.Fs;
using Kiov.Iov;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Fs;

/// <summary>anon_pipe_get_page/anon_pipe_put_page (6.15 on): a pipe keeps up to two pages its
/// buffers released, if nobody else holds them, and writes into them before allocating.</summary>
public class PipeSparePageTests
{
    private static Pipe PipeOf(FsFixture k, int fd)
    {
        KFile f = k.P.Files.Get(fd)!;
        try { return f.PipeInfo!; }
        finally { f.Put(); }
    }

    [Fact]
    public void AReadPageIsWrittenAgainWithoutAnAllocationAndFreedWithThePipe()
    {
        var k = new FsFixture();
        k.Map(A, 0x4000);
        k.Poke(A, new byte[0x4000]); // fault the buffers in first: only the pipe's pages count below
        var (r, w) = k.Pipe();
        Pipe pipe = PipeOf(k, w);
        int free = k.Kernel.Memory.FreeFrames;
        Assert.Equal(100L, Syscalls.Write(k.P, w, A, 100));
        var first = pipe.Buffers()[0].Page;
        Assert.Equal(free - 1, k.Kernel.Memory.FreeFrames);
        Assert.Equal(100L, Syscalls.Read(k.P, r, A + 0x2000, 100));
        Assert.Equal(free - 1, k.Kernel.Memory.FreeFrames); // kept as a spare, not freed
        Assert.Equal(100L, Syscalls.Write(k.P, w, A, 100));
        Assert.Equal(first, pipe.Buffers()[0].Page);
        Assert.Equal(free - 1, k.Kernel.Memory.FreeFrames);
        Assert.Equal(100L, Syscalls.Read(k.P, r, A + 0x2000, 100));
        Assert.Equal(0L, Syscalls.Close(k.P, r));
        Assert.Equal(0L, Syscalls.Close(k.P, w));
        Assert.Equal(free, k.Kernel.Memory.FreeFrames); // free_pipe_info drops the spares
        k.Dispose();
    }

    [Fact]
    public void AtMostTwoSparesAndNeverAPageSomeoneElseHolds()
    {
        var k = new FsFixture();
        k.Map(A, 0x8000);
        k.Poke(A, new byte[0x8000]);
        var (r, w) = k.Pipe();
        Pipe pipe = PipeOf(k, w);
        int free = k.Kernel.Memory.FreeFrames;
        Assert.Equal(0x4000L, Syscalls.Write(k.P, w, A, 0x4000));
        Assert.Equal(0x4000L, Syscalls.Read(k.P, r, A + 0x4000, 0x4000));
        Assert.Equal(free - 2, k.Kernel.Memory.FreeFrames); // four pages released, two kept

        Assert.Equal(100L, Syscalls.Write(k.P, w, A, 100));
        var held = pipe.Buffers()[0].Page;
        k.Kernel.Memory.Get(held); // a reference the pipe does not own (as a tee'd buffer would be)
        Assert.Equal(100L, Syscalls.Read(k.P, r, A + 0x4000, 100));
        Assert.Equal(100L, Syscalls.Write(k.P, w, A, 100));
        Assert.NotEqual(held, pipe.Buffers()[0].Page);
        k.Kernel.Memory.Put(held);
        k.Dispose();
    }

    [Fact]
    public void SparePagesStillCarryTheRightBytes()
    {
        using var k = new FsFixture();
        k.Map(A, 0x4000);
        var (r, w) = k.Pipe();
        for (int round = 0; round < 4; round++)
        {
            byte[] data = [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 3 + round))];
            k.Poke(A, data);
            IoVec[] src = [new(A, 300)], dst = [new(A + 0x2000, 300)];
            Assert.Equal(300L, Syscalls.Writev(k.P, w, src));
            Assert.Equal(300L, Syscalls.Readv(k.P, r, dst));
            Assert.Equal(data, k.Peek(A + 0x2000, 300));
        }
    }
}
