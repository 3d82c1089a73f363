using Kiov.Drivers;
using Kiov.Fs;
using Kiov.Iov;
using Kiov.Tests.Fs;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Drivers;

/// <summary>O_DIRECT on a block device node (block/fops.c blkdev_direct_IO, block/bio.c
/// bio_iov_iter_get_pages) on each era's way of filling a bio, and the primitive.</summary>
public class BlockDeviceTests
{
    private const int P = 4096;

    private static (BlockDevice dev, int fd) Attach(FsFixture k, BioGetPages? method = null, uint lbs = 512, bool direct = true)
    {
        var dev = new BlockDevice(k.Kernel, 4L << 20, lbs, method: method);
        return (dev, k.P.Files.Install(dev.Open(FMode.Read | FMode.Write, direct)));
    }

    private static byte[] Pattern(int n, int seed) => [.. Enumerable.Range(0, n).Select(i => (byte)(i * 31 + seed))];

    /// <summary>6.x: a 1 MiB O_DIRECT write and read each go as one bio of 256 pinned pages
    /// (BIO_PAGE_PINNED), released at completion (dirtied for the read).</summary>
    [Theory]
    [InlineData(BioGetPages.ExtractPages)]
    [InlineData(BioGetPages.Primitive)]
    public void AOneMiBRequestIsOneBioOfPinnedPages(object boxedMethod) // BioGetPages, internal to Kiov
    {
        var method = (BioGetPages)boxedMethod;
        using var k = new FsFixture();
        var (dev, fd) = Attach(k, method);
        k.Map(A, 2 << 20);
        byte[] data = Pattern(1 << 20, 3);
        k.Poke(A, data);
        Assert.Equal(1L << 20, Syscalls.Pwrite(k.P, fd, A, 1 << 20, 8192));
        Assert.Equal(data, dev.Store.Slice(8192, 1 << 20).ToArray());
        Assert.Equal(1, dev.Bios);
        Assert.Equal(256, k.Kernel.Space.Counters.PinsAcquired);
        Assert.Equal(1L << 20, Syscalls.Pread(k.P, fd, A + (1 << 20), 1 << 20, 8192));
        Assert.Equal(data, k.Peek(A + (1 << 20), 1 << 20));
        Assert.Equal(2, dev.Bios);
        Assert.Equal(k.Kernel.Space.Counters.PinsAcquired, k.Kernel.Space.Counters.PinsReleased);
        Syscalls.Close(k.P, fd);
    }

    /// <summary>blkdev_dio_invalid: the position, the count, each segment's length must be whole logical
    /// blocks and each address DMA-aligned, else -EINVAL before anything is pinned.</summary>
    [Fact]
    public void MisalignedRequestsAreEinval()
    {
        using var k = new FsFixture();
        var (dev, fd) = Attach(k, lbs: 4096);
        k.Map(A, 4 * P);
        Assert.Equal(-Errno.EINVAL, Syscalls.Pwrite(k.P, fd, A, P, 512));          // position
        Assert.Equal(-Errno.EINVAL, Syscalls.Pwrite(k.P, fd, A, 512, 0));          // count
        Assert.Equal(-Errno.EINVAL, Syscalls.Pwrite(k.P, fd, A + 8, P, 0));        // address
        Assert.Equal(-Errno.EINVAL, Syscalls.Pwritev(k.P, fd, [new IoVec(A, 512), new IoVec(A + P, 3584)], 0)); // a segment's length
        Assert.Equal((long)P, Syscalls.Pwrite(k.P, fd, A + 512, P, 0));            // 512-aligned address is enough
        Assert.Equal(2, k.Kernel.Space.Counters.PinsAcquired);                    // only the last pinned anything
        Syscalls.Close(k.P, fd);
        var (_, fd512) = Attach(k);
        Assert.Equal(1536L, Syscalls.Pwrite(k.P, fd512, A + 512, 1536, 512));
        Syscalls.Close(k.P, fd512);
    }

    /// <summary>A request larger than one bio's 256 vecs goes as several full bios (the pages faulted in
    /// backwards, so no two are physically adjacent and bvec_try_merge_page merges none); the end of the
    /// disk cuts a read and makes a write there -ENOSPC.</summary>
    [Fact]
    public void LargeRequestsFillBiosToTheBrimAndTheDiskEndCutsThem()
    {
        using var k = new FsFixture();
        var (dev, fd) = Attach(k);
        k.Map(A, 3 << 20);
        for (int i = 767; i >= 0; i--) k.Poke(A + (ulong)(i * P), [1]);
        Assert.Equal(3L << 20, Syscalls.Pwrite(k.P, fd, A, 3 << 20, 0));
        Assert.Equal(3, dev.Bios);
        Assert.Equal(768, dev.Segments);
        Assert.Equal(1L << 20, Syscalls.Pread(k.P, fd, A, 2 << 20, 3L << 20)); // cut at 4 MiB
        Assert.Equal(0L, Syscalls.Pread(k.P, fd, A, P, 4L << 20));
        Assert.Equal(-Errno.ENOSPC, Syscalls.Pwrite(k.P, fd, A, P, 4L << 20));
        Syscalls.Close(k.P, fd);
    }

    /// <summary>4.10: bio_iov_iter_get_pages was one non-advancing iov_iter_get_pages per bio, so one
    /// segment: four page-aligned iovecs are four bios, with references, no pins.</summary>
    [Fact]
    public void Linux410MakesOneBioPerSegmentWithReferences()
    {
        using var k = new FsFixture(KernelConfig.Linux2017);
        var (dev, fd) = Attach(k);
        Assert.Equal(BioGetPages.GetPages2017, dev.Method);
        k.Map(A, 8 * P);
        byte[] data = Pattern(4 * P, 9);
        for (int i = 0; i < 4; i++) k.Poke(A + (ulong)(2 * i * P), data.AsSpan(i * P, P));
        IoVec[] iov = [.. Enumerable.Range(0, 4).Select(i => new IoVec(A + (ulong)(2 * i * P), P))];
        Assert.Equal(4L * P, Syscalls.Pwritev(k.P, fd, iov, 0));
        Assert.Equal(data, dev.Store[..(4 * P)].ToArray());
        Assert.Equal(4, dev.Bios);
        Assert.Equal(4, dev.ApiCalls);
        Assert.Equal(0, k.Kernel.Space.Counters.PinsAcquired);
        Syscalls.Close(k.P, fd);
    }

    /// <summary>Physically adjacent pages merge into one bvec (bvec_try_merge_page), so a bio holds more
    /// than 256 pages when they line up.</summary>
    [Fact]
    public void PhysicallyAdjacentPagesShareABvec()
    {
        using var k = new FsFixture();
        var (dev, fd) = Attach(k);
        k.Map(A, 3 << 20);
        for (int i = 0; i < 768; i++) k.Poke(A + (ulong)(i * P), [1]);
        Assert.Equal(3L << 20, Syscalls.Pwrite(k.P, fd, A, 3 << 20, 0));
        Assert.True(dev.Segments < 768 && dev.Bios < 3, $"{dev.Segments} segments in {dev.Bios} bios");
        Syscalls.Close(k.P, fd);
    }

    /// <summary>The conversion to the primitive fills the same bios with the same bytes in fewer calls.</summary>
    [Fact]
    public void ThePrimitiveFillsTheSameBiosInFewerCalls()
    {
        long[] calls = new long[2], bios = new long[2];
        byte[][] stores = new byte[2][];
        foreach (var (method, i) in new[] { (BioGetPages.ExtractPages, 0), (BioGetPages.Primitive, 1) })
        {
            using var k = new FsFixture();
            var (dev, fd) = Attach(k, method);
            k.Map(A, 600 * P);
            k.Poke(A, Pattern(600 * P, 5));
            IoVec[] iov = [.. Enumerable.Range(0, 300).Select(j => new IoVec(A + (ulong)(2 * j * P), P))];
            Assert.Equal(300L * P, Syscalls.Pwritev(k.P, fd, iov, 0));
            calls[i] = dev.ApiCalls;
            bios[i] = dev.Bios;
            stores[i] = dev.Store[..(300 * P)].ToArray();
            Syscalls.Close(k.P, fd);
        }
        Assert.Equal(stores[0], stores[1]);
        Assert.Equal(bios[0], bios[1]);
        Assert.Equal(2, bios[0]);
        Assert.Equal(300, calls[0]);       // one extraction per segment
        Assert.Equal(2, calls[1]);         // one primitive call per bio
    }

    /// <summary>Without O_DIRECT the device node copies (the page cache is not modelled here).</summary>
    [Fact]
    public void BufferedIoCopies()
    {
        using var k = new FsFixture();
        var (dev, fd) = Attach(k, direct: false);
        k.Map(A, P);
        k.Poke(A + 3, Pattern(100, 1));
        Assert.Equal(100L, Syscalls.Pwrite(k.P, fd, A + 3, 100, 7));
        Assert.Equal(Pattern(100, 1), dev.Store.Slice(7, 100).ToArray());
        Assert.Equal(0, dev.Bios);
        Syscalls.Close(k.P, fd);
    }
}

/// <summary>The counted comparison of bio_iov_iter_get_pages before and after the primitive.</summary>
public class DirectIoComparisonTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void ThePrimitiveNeedsOneCallPerBioAndEveryWayWritesTheRightBytes()
    {
        var rows = DirectIoComparison.Rows();
        foreach (string line in DirectIoComparison.Format(rows)) output.WriteLine(line);
        Assert.All(rows, r => Assert.True(r.DataRight, $"{r.Shape} {r.Method}"));
        foreach (var shape in rows.GroupBy(r => r.Shape))
        {
            var m = shape.ToDictionary(r => r.Method);
            Assert.Equal(m[BioGetPages.Primitive].BiosPerMiB, m[BioGetPages.Primitive].CallsPerMiB);
            Assert.True(m[BioGetPages.Primitive].CallsPerMiB <= m[BioGetPages.ExtractPages].CallsPerMiB);
            Assert.Equal(m[BioGetPages.GetPages2017].BiosPerMiB, m[BioGetPages.GetPages2017].CallsPerMiB); // one get_pages per bio
        }
        var aligned = rows.Where(r => r.Shape == DioShape.AlignedIovecs256).ToDictionary(r => r.Method);
        Assert.Equal((256.0, 1.0, 1.0), (aligned[BioGetPages.GetPages2017].BiosPerMiB, aligned[BioGetPages.ExtractPages].BiosPerMiB, aligned[BioGetPages.Primitive].BiosPerMiB));
        Assert.Equal((256.0, 1.0), (aligned[BioGetPages.ExtractPages].CallsPerMiB, aligned[BioGetPages.Primitive].CallsPerMiB));
    }
}
