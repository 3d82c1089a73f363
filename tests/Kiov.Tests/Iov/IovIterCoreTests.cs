using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Iov;

public class IovIterCoreTests
{
    private const ulong A = KernelFixture.Arena;

    [Fact]
    public void IovecCopyStopsAtTheFirstFaultingByteAndAdvancesByWhatWasCopied()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 2 * 4096);
        IoVec[] iov = [new(A + 4000, 96), new(A + 4096, 4096), new(A + 3 * 4096 - 8, 64)]; // last one: 8 bytes then a hole
        var it = IovIter.Init(false, k.Mm, iov, 3, 96 + 4096 + 64);
        var src = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        Assert.Equal(96UL + 4096, it.CopyToIter(src));
        Assert.Equal(64UL, it.Count);
        Assert.Equal(2, it.SegmentIndex);
        Assert.Equal(0UL, it.IovOffset);
        var back = new byte[96 + 4096];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, back, A + 4000));
        Assert.True(back.AsSpan().SequenceEqual(src.AsSpan(0, back.Length)));
    }

    [Fact]
    public void WrongDirectionCopiesNothing()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4096);
        var src = IovIter.Ubuf(true, k.Mm, A, 100);
        Assert.Equal(0UL, src.CopyToIter(new byte[10]));
        var dst = IovIter.Ubuf(false, k.Mm, A, 100);
        Assert.Equal(0UL, dst.CopyFromIter(new byte[10]));
    }

    [Fact]
    public void AdvanceAndRevertWalkSegmentsBothWays()
    {
        using var k = new KernelFixture();
        IoVec[] iov = [new(A, 10), new(A + 100, 0), new(A + 200, 20), new(A + 300, 30)];
        var it = IovIter.Init(true, k.Mm, iov, 4, 60);
        Assert.Equal(30UL, it.Advance(30));   // exact end of segment 2 rolls over to segment 3
        Assert.Equal(3, it.SegmentIndex);
        Assert.Equal(0UL, it.IovOffset);
        Assert.Equal(1, it.NrSegs);
        it.Revert(25);                        // back over segment 2, the empty one, into segment 0
        Assert.Equal(0, it.SegmentIndex);
        Assert.Equal(5UL, it.IovOffset);
        Assert.Equal(4, it.NrSegs);
        Assert.Equal(55UL, it.Count);
        it.Revert(0);
        Assert.Equal(55UL, it.Advance(1000));
        Assert.Equal(0, it.NrSegs);
    }

    [Fact]
    public void ImportIovecChecksInTheKernelsOrder()
    {
        using var k = new KernelFixture();
        IoVec[] fast = new IoVec[IovLimits.FastIov];
        Assert.Equal(-Errno.EINVAL, Import.ImportIovec(false, k.Mm, new IoVec[1025], ref fast, out _));
        // A negative length anywhere beats a kernel address earlier in the array.
        Assert.Equal(-Errno.EINVAL, Import.ImportIovec(false, k.Mm, [new(Layout.DirectMapBase, 1), new(A, ulong.MaxValue)], ref fast, out _));
        Assert.Equal(-Errno.EFAULT, Import.ImportIovec(false, k.Mm, [new(A, 100), new(Layout.DirectMapBase, 5000)], ref fast, out _));
        Assert.Equal(-Errno.EINVAL, Import.ImportIovec(false, k.Mm, [new(A, ulong.MaxValue)], ref fast, out _));
        // One huge segment is clamped before access_ok; the same inside a vector is not.
        Assert.Equal((long)IovLimits.MaxRwCount, Import.ImportIovec(false, k.Mm, [new(A, 0x7fff_ffff_0000)], ref fast, out var ubuf));
        Assert.Equal(IterType.Ubuf, ubuf.Type);
        Assert.Equal(-Errno.EFAULT, Import.ImportIovec(false, k.Mm, [new(A, 0x7fff_ffff_0000), new(A, 1)], ref fast, out _));
        // The total is clamped on the segment that crosses MAX_RW_COUNT.
        Assert.Equal((long)IovLimits.MaxRwCount, Import.ImportIovec(false, k.Mm, [new(A, 0x7000_0000), new(A, 0x1000_0000), new(A, 5)], ref fast, out var it));
        Assert.Equal(IterType.Iovec, it.Type);
        Assert.Equal(IovLimits.MaxRwCount - 0x7000_0000, fast[1].Len);
        Assert.Equal(0UL, fast[2].Len);
        Assert.Equal(0L, Import.ImportIovec(false, k.Mm, ReadOnlySpan<IoVec>.Empty, ref fast, out var empty));
        Assert.Equal(0UL, empty.Count);
    }

    [Fact]
    public void BvecAndKvecCopyAcrossPagesAndSegments()
    {
        using var k = new KernelFixture();
        Page run = k.Memory.AllocContiguous(2, PageOwner.KernelBuffer);
        Page other = k.Memory.Alloc(PageOwner.KernelBuffer);
        BioVec[] bv = [new(run, 6000, 100), new(other, 50, 10)];
        var it = IovIter.Bvec(false, k.Kernel, bv, 2, 6050);
        var src = Enumerable.Range(0, 6050).Select(i => (byte)(i * 7)).ToArray();
        Assert.Equal(6050UL, it.CopyToIter(src));
        var kv = IovIter.Kvec(true, k.Kernel, [new(PhysicalMemory.KernelAddress(run) + 100, 6000), new(PhysicalMemory.KernelAddress(other) + 10, 50)], 2, 6050);
        var back = new byte[6050];
        Assert.Equal(6050UL, kv.CopyFromIter(back));
        Assert.Equal(src, back);
        k.Memory.Put(run); k.Memory.Put(run.Nth(1)); k.Memory.Put(other);
    }
}
