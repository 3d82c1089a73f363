using Kiov.Fs;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Fs;

/// <summary>process_vm_rw_pages copies pinned pages that follow each other in memory as one run: the
/// bytes and where a local fault stops the copy must be those of the page-by-page copy.</summary>
public class ProcessVmRunTests
{
    private const ulong Remote = A, Local = A + 0x100000;

    private static byte[] Pattern(int n) => [.. Enumerable.Range(0, n).Select(i => (byte)(i * 13 + 7))];

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(4095)]
    public void AWholeRunArrivesInOrder(int offset)
    {
        using var k = new FsFixture();
        k.Map(Remote, 8 * 4096);
        k.Map(Local, 8 * 4096);
        byte[] data = Pattern(8 * 4096);
        k.Poke(Remote, data);
        int len = 6 * 4096 + 1;
        Assert.Equal((long)len, Syscalls.ProcessVmReadv(k.P, k.P, [new IoVec(Local, (ulong)len)], [new IoVec(Remote + (ulong)offset, (ulong)len)], 0));
        Assert.Equal(data.AsSpan(offset, len).ToArray(), k.Peek(Local, len));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public void ALocalHoleStopsTheRunAtItsFirstByte(int offset)
    {
        using var k = new FsFixture();
        k.Map(Remote, 4 * 4096);
        k.Map(Local, 2 * 4096); // a hole from Local + 8192 on
        byte[] data = Pattern(4 * 4096);
        k.Poke(Remote, data);
        Assert.Equal(2 * 4096L, Syscalls.ProcessVmReadv(k.P, k.P, [new IoVec(Local, 3 * 4096)], [new IoVec(Remote + (ulong)offset, 3 * 4096)], 0));
        Assert.Equal(data.AsSpan(offset, 2 * 4096).ToArray(), k.Peek(Local, 2 * 4096));
        Assert.Equal(k.Kernel.Space.Counters.PinsAcquired, k.Kernel.Space.Counters.PinsReleased);
    }

    [Fact]
    public void TheRemotePagesAreConsecutiveFramesSoTheRunIsTaken()
    {
        // Populated in order from the allocator, the remote pages are consecutive frames: the case the
        // two tests above need to exercise the run (they pass page by page too).
        using var k = new FsFixture();
        Assert.Equal((long)Remote, Syscalls.Mmap(k.P, Remote, 4 * 4096, Prot.Read | Prot.Write,
            MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate, -1, 0));
        var pages = new Page[4];
        Assert.Equal(4, Kiov.Gup.UserPages.GetUserPagesFast(k.P.Mm, Remote, 4, 0, pages));
        bool consecutive = Enumerable.Range(1, 3).Any(i => pages[i].Pfn == pages[i - 1].Pfn + 1);
        Kiov.Gup.UserPages.PutPages(k.Kernel.Memory, pages);
        Assert.True(consecutive);
    }
}
