using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Iov;
using Kiov.Tests.Support;
using Kiov.Uaccess;
using static Kiov.Tests.Batch.BatchTestData;

namespace Kiov.Tests.Batch;

/// <summary>ceph's <c>iter_get_bvecs_alloc</c> both ways: its loop over GetPages2 and Al Viro's primitive
/// move the same bytes through the same page vector.</summary>
public class DirectIoTests
{
    // Runs both methods on two identical iterators; checks the vectors, the positions and the bytes a
    // "device" reads from them (a write request), then releases both. Returns the bytes.
    private static byte[] WriteRequestBothWays(IovIter a, IovIter b, ulong maxSize, BatchHold primitiveHold)
    {
        long ra = DirectIo.IterGetBvecsAlloc(ref a, maxSize, DioVectorMethod.GetPages2Loop, out var va);
        long rb = DirectIo.IterGetBvecsAlloc(ref b, maxSize, DioVectorMethod.Primitive, out var vb);
        Assert.True(ra > 0);
        Assert.Equal((ra, a.Count, a.SegmentIndex, a.IovOffset), (rb, b.Count, b.SegmentIndex, b.IovOffset));
        Assert.Equal(va!.Bvecs[..va.Count], vb!.Bvecs[..vb.Count]);
        Assert.Equal((BatchHold.Ref, primitiveHold), (va.Hold, vb.Hold));
        var da = new byte[ra];
        var db = new byte[rb];
        Assert.Equal((ulong)ra, va.AsIter(true).CopyFromIter(da));
        Assert.Equal((ulong)rb, vb.AsIter(true).CopyFromIter(db));
        Assert.Equal(da, db);
        va.Put(dirty: false);
        vb.Put(dirty: false);
        return da;
    }

    [Fact]
    public void UserIovecsGiveTheSameVectorAndBytesEitherWay()
    {
        using var k = new KernelFixture();
        MapFilled(k, A, 11 * PageSize, 1);
        IoVec[] iov = [new(A + 100, P - 100), new(A + 2 * P, 2 * P), new(A + 5 * P + 8, 100), new(A + 7 * P, P), new(A + 10 * P, 50)];
        byte[] all = UserBytes(k, iov);
        Assert.Equal(all, WriteRequestBothWays(IovIter.Init(true, k.Mm, iov, 5, Sum(iov)), IovIter.Init(true, k.Mm, iov, 5, Sum(iov)), ulong.MaxValue, BatchHold.Pin));
        Assert.Equal(all[..5000], WriteRequestBothWays(IovIter.Init(true, k.Mm, iov, 5, Sum(iov)), IovIter.Init(true, k.Mm, iov, 5, Sum(iov)), 5000, BatchHold.Pin));
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
    }

    [Fact]
    public void AHoleCutsBothVectorsAtTheSamePlace()
    {
        using var k = new KernelFixture();
        byte[] data = MapFilled(k, A, 3 * PageSize, 2);
        IoVec[] iov = [new(A + 10, 2 * P), new(A + 2 * P + 10, 2 * P)]; // runs into the hole at page 3
        Assert.Equal(data.AsSpan(10, 3 * PageSize - 10).ToArray(),
            WriteRequestBothWays(IovIter.Init(true, k.Mm, iov, 2, 4 * P), IovIter.Init(true, k.Mm, iov, 2, 4 * P), ulong.MaxValue, BatchHold.Pin));
        var a = IovIter.Ubuf(true, k.Mm, A + 3 * P, P);
        var b = a;
        Assert.Equal(-Errno.EFAULT, DirectIo.IterGetBvecsAlloc(ref a, P, DioVectorMethod.GetPages2Loop, out var va));
        Assert.Equal(-Errno.EFAULT, DirectIo.IterGetBvecsAlloc(ref b, P, DioVectorMethod.Primitive, out var vb));
        Assert.Null(va);
        Assert.Null(vb);
    }

    [Fact]
    public void AReadRequestFillsUserMemoryThroughEitherVector()
    {
        using var k = new KernelFixture();
        MapFilled(k, A, 4 * PageSize, 3);
        foreach (var method in new[] { DioVectorMethod.GetPages2Loop, DioVectorMethod.Primitive })
        {
            var it = IovIter.Ubuf(false, k.Mm, A + 300, 3 * P);
            Assert.Equal((long)(3 * P), DirectIo.IterGetBvecsAlloc(ref it, ulong.MaxValue, method, out var v));
            Assert.Equal(4, v!.Count);
            byte[] device = Pattern(3 * PageSize, 40 + (int)method);
            Assert.Equal(3 * P, v.AsIter(false).CopyToIter(device));
            v.Put(dirty: true);
            var back = new byte[3 * PageSize];
            Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, back, A + 300));
            Assert.Equal(device, back);
        }
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
    }

    [Fact]
    public void KernelKindsGiveTheIteratorsOwnPagesThroughThePrimitive()
    {
        using var k = new KernelFixture();
        Page[] s = ScatteredPages(k.Memory, 3, 4);
        BioVec[] bv = [new(s[0], (uint)(P - 10), 10), new(s[1], 100, 0), new(s[2], (uint)P, 0)];
        ulong total = P - 10 + 100 + P;
        byte[] bytes = WriteRequestBothWays(IovIter.Bvec(true, k.Kernel, bv, 3, total), IovIter.Bvec(true, k.Kernel, bv, 3, total), ulong.MaxValue, BatchHold.None);
        Assert.Equal(k.Memory.Span(s[0])[10..].ToArray().Concat(k.Memory.Span(s[1])[..100].ToArray()).Concat(k.Memory.Span(s[2]).ToArray()), bytes);

        var cache = new PageCache(k.Memory);
        for (int i = 0; i < 3; i++) { Page p = cache.FindOrCreate(i); new Random(i).NextBytes(k.Memory.Span(p)); k.Memory.Put(p); }
        WriteRequestBothWays(IovIter.XarrayOf(true, k.Kernel, cache, 7, 3 * P - 7), IovIter.XarrayOf(true, k.Kernel, cache, 7, 3 * P - 7), 2 * P, BatchHold.None);

        // KVEC: ceph's get_pages loop cannot take it; the primitive lists its pages.
        ulong vmap = k.Kernel.Vmap(s);
        var kv = IovIter.Kvec(true, k.Kernel, [new(vmap + 5, 3 * P - 5)], 1, 3 * P - 5);
        var kv2 = kv;
        Assert.Equal(-Errno.EFAULT, DirectIo.IterGetBvecsAlloc(ref kv, ulong.MaxValue, DioVectorMethod.GetPages2Loop, out _));
        Assert.Equal((long)(3 * P - 5), DirectIo.IterGetBvecsAlloc(ref kv2, ulong.MaxValue, DioVectorMethod.Primitive, out var v));
        Assert.Equal(new BioVec[] { new(s[0], (uint)(P - 5), 5), new(s[1], (uint)P, 0), new(s[2], (uint)P, 0) }, v!.Bvecs);
        v.Put(dirty: false);
        k.Kernel.Vunmap(vmap, 3);
        cache.RemoveFrom(0);
        foreach (var p in s) k.Memory.Put(p);
    }

    [Fact]
    public void ASpliceReadIntoAPipeWorksEitherWay()
    {
        // Jeff's motivation: splice hands O_DIRECT an ITER_PIPE (4.9-6.4), which ceph's iovec-only helper broke on.
        using var k = new KernelFixture(KernelConfig.Linux2017);
        byte[] device = Pattern(5000, 5);
        foreach (var method in new[] { DioVectorMethod.GetPages2Loop, DioVectorMethod.Primitive })
        {
            using var pipe = new TestPipe(k.Memory);
            var it = IovIter.PipeOf(false, k.Kernel, pipe, 5000);
            Assert.Equal(5000L, DirectIo.IterGetBvecsAlloc(ref it, ulong.MaxValue, method, out var v));
            Assert.Equal((2, 2U), (v!.Count, pipe.Head));
            Assert.Equal(5000UL, v.AsIter(false).CopyToIter(device));
            v.Put(dirty: true);
            Assert.Equal(device, pipe.Contents());
        }
    }
}
