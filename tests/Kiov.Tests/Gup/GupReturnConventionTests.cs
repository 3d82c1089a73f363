using Kiov.Gup;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using static Kiov.Tests.Gup.GupTestHelpers;

namespace Kiov.Tests.Gup;

public class GupReturnConventionTests
{
    public enum Variant { Fast, Unlocked, Locked }

    // One entry point per variant, all pinning, so every convention is checked on each path.
    private static long Pin(KernelFixture k, Variant v, ulong start, int n, Foll flags, Page[] pages)
    {
        switch (v)
        {
            case Variant.Fast: return UserPages.PinUserPagesFast(k.Mm, start, n, flags, pages);
            case Variant.Unlocked: return UserPages.PinUserPagesUnlocked(k.Mm, start, n, flags, pages);
            default:
                using (k.Mm.MmapLock.Read()) return UserPages.PinUserPages(k.Mm, start, n, flags, pages);
        }
    }

    [Theory]
    [InlineData(Variant.Fast)]
    [InlineData(Variant.Unlocked)]
    [InlineData(Variant.Locked)]
    public void FullRangeReturnsEveryPagePinnedOnce(Variant v)
    {
        using var k = new KernelFixture();
        MapFilled(k, 8);
        var pages = new Page[8];
        Assert.Equal(8, Pin(k, v, A, 8, Foll.Write, pages));
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(Mapped(k, A + (ulong)(i * P)), pages[i]);
            Assert.Equal(1 + PhysicalMemory.PinBias, k.Memory.RefCount(pages[i]));
        }
        Assert.True(k.Mm.HasPinned);
        Unpin(k, pages, 8);
        Assert.All(pages, p => Assert.Equal(1, k.Memory.RefCount(p)));
    }

    [Theory]
    [InlineData(Variant.Fast)]
    [InlineData(Variant.Unlocked)]
    [InlineData(Variant.Locked)]
    public void UnalignedStartIsRoundedDownToItsPage(Variant v)
    {
        using var k = new KernelFixture();
        MapFilled(k, 2);
        var pages = new Page[1];
        Assert.Equal(1, Pin(k, v, A + P + 123, 1, 0, pages));
        Assert.Equal(Mapped(k, A + P), pages[0]);
        Unpin(k, pages, 1);
    }

    [Theory]
    [InlineData(Variant.Fast)]
    [InlineData(Variant.Unlocked)]
    [InlineData(Variant.Locked)]
    public void PartialAtAHoleReturnsThePagesBeforeIt(Variant v)
    {
        using var k = new KernelFixture();
        MapFilled(k, 3);
        k.MapAnon(A + 4 * P, P);
        var pages = new Page[5];
        long n = Pin(k, v, A, 5, Foll.Write, pages);
        Assert.Equal(3, n);
        Unpin(k, pages, n);
    }

    [Theory]
    [InlineData(Variant.Fast)]
    [InlineData(Variant.Unlocked)]
    [InlineData(Variant.Locked)]
    public void PartialAtAPermissionChangeReturnsThePagesBeforeIt(Variant v)
    {
        using var k = new KernelFixture();
        MapFilled(k, 4);
        Assert.Equal(0, k.Mm.Mprotect(A + 2 * P, 2 * P, Prot.Read));
        var pages = new Page[4];
        long n = Pin(k, v, A, 4, Foll.Write, pages);
        Assert.Equal(2, n);
        Unpin(k, pages, n);
        // A read needs no write permission: all four.
        n = Pin(k, v, A, 4, 0, pages);
        Assert.Equal(4, n);
        Unpin(k, pages, n);
    }

    [Theory]
    [InlineData(Variant.Fast)]
    [InlineData(Variant.Unlocked)]
    [InlineData(Variant.Locked)]
    public void NoneObtainedIsEfault(Variant v)
    {
        using var k = new KernelFixture();
        var pages = new Page[2];
        Assert.Equal(-Errno.EFAULT, Pin(k, v, A, 2, 0, pages));
        k.MapAnon(A, P, Prot.Read);
        Assert.Equal(-Errno.EFAULT, Pin(k, v, A, 1, Foll.Write, pages));
    }

    [Theory]
    [InlineData(Variant.Fast)]
    [InlineData(Variant.Unlocked)]
    [InlineData(Variant.Locked)]
    public void ZeroPagesIsZero(Variant v)
    {
        using var k = new KernelFixture();
        Assert.Equal(0, Pin(k, v, A, 0, 0, []));
        Assert.Equal(0, Pin(k, v, A, 0, 0, new Page[1]));
    }

    [Theory]
    [InlineData(Variant.Fast)]
    [InlineData(Variant.Unlocked)]
    [InlineData(Variant.Locked)]
    public void AbsentPagesAreFaultedIn(Variant v)
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4 * P);
        var pages = new Page[4];
        long n = Pin(k, v, A, 4, Foll.Write, pages);
        Assert.Equal(4, n);
        Assert.Equal(4, k.Kernel.Counters.GupFaults);
        for (int i = 0; i < 4; i++) Assert.Equal(Mapped(k, A + (ulong)(i * P)), pages[i]);
        Unpin(k, pages, n);
    }

    [Fact]
    public void GetUserPagesTakesPlainReferences()
    {
        using var k = new KernelFixture();
        MapFilled(k, 3);
        var pages = new Page[3];
        Assert.Equal(3, UserPages.GetUserPagesFast(k.Mm, A, 3, 0, pages));
        Assert.All(pages, p => Assert.Equal(2, k.Memory.RefCount(p)));
        Assert.False(k.Memory.MaybeDmaPinned(pages[0]));
        Put(k, pages, 3);
        Assert.Equal(2, UserPages.GetUserPagesUnlocked(k.Mm, A, 2, 0, pages));
        Put(k, pages, 2);
        using (k.Mm.MmapLock.Read()) Assert.Equal(3, UserPages.GetUserPages(k.Mm, A, 3, Foll.Write, pages));
        Put(k, pages, 3);
        Assert.Equal(3, UserPages.GetUserPagesFastOnly(k.Mm, A, 3, 0, pages));
        Put(k, pages, 3);
        Assert.False(k.Mm.HasPinned);
        Assert.All(pages, p => Assert.Equal(1, k.Memory.RefCount(p)));
    }

    [Fact]
    public void GetUserPagesWithoutAnArrayOnlyFaultsIn()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 3 * P);
        using (k.Mm.MmapLock.Read()) Assert.Equal(3, UserPages.GetUserPages(k.Mm, A, 3, Foll.Write, []));
        Assert.NotEqual(0UL, k.Mm.ReadPte(A + 2 * P));
        Assert.Equal(1, k.Memory.RefCount(Mapped(k, A)));
    }

    [Fact]
    public void FastOnlyNeverFaultsAndReturnsWhatTheWalkGot()
    {
        using var k = new KernelFixture();
        MapFilled(k, 2);
        k.MapAnon(A + 2 * P, 2 * P);
        var pages = new Page[4];
        Assert.Equal(2, UserPages.PinUserPagesFastOnly(k.Mm, A, 4, 0, pages));
        Unpin(k, pages, 2);
        Assert.Equal(0, UserPages.PinUserPagesFastOnly(k.Mm, A + 2 * P, 2, 0, pages));
        Assert.Equal(0, k.Kernel.Counters.GupFaults);
    }

    [Fact]
    public void UnpinDirtyLockMarksThePagesDirty()
    {
        using var k = new KernelFixture();
        MapFilled(k, 2);
        var pages = new Page[2];
        Assert.Equal(2, UserPages.PinUserPagesFast(k.Mm, A, 2, Foll.Write, pages));
        foreach (var p in pages) k.Memory.ClearFlags(p, PageFlags.Dirty);
        UserPages.UnpinUserPagesDirtyLock(k.Kernel, pages, makeDirty: true);
        Assert.All(pages, p => Assert.True((k.Memory.Flags(p) & PageFlags.Dirty) != 0));
        Assert.Equal(1, UserPages.PinUserPagesFast(k.Mm, A, 1, 0, pages));
        k.Memory.ClearFlags(pages[0], PageFlags.Dirty);
        UserPages.UnpinUserPagesDirtyLock(k.Kernel, pages.AsSpan(0, 1), makeDirty: false);
        Assert.Equal(PageFlags.None, k.Memory.Flags(pages[0]) & PageFlags.Dirty);
        Assert.Equal(k.Kernel.Counters.PinsAcquired, k.Kernel.Counters.PinsReleased);
    }

    [Fact]
    public void UnpinRangeDirtyLockReleasesConsecutiveFrames()
    {
        using var k = new KernelFixture();
        Page first = k.Memory.AllocContiguous(3, PageOwner.KernelBuffer);
        for (int i = 0; i < 3; i++) Assert.True(k.Memory.TryPin(first.Nth(i)));
        UserPages.UnpinUserPageRangeDirtyLock(k.Kernel, first, 3, makeDirty: true);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(1, k.Memory.RefCount(first.Nth(i)));
            Assert.True((k.Memory.Flags(first.Nth(i)) & PageFlags.Dirty) != 0);
            k.Memory.Put(first.Nth(i));
        }
    }

    [Fact]
    public void StatisticsCountCallsPathsAndPins()
    {
        using var k = new KernelFixture();
        MapFilled(k, 4);
        k.MapAnon(A + 4 * P, 2 * P);
        var c = k.Kernel.Counters;
        var pages = new Page[6];
        Assert.Equal(4, UserPages.PinUserPagesFast(k.Mm, A, 4, 0, pages));     // a fast hit
        Unpin(k, pages, 4);
        Assert.Equal(6, UserPages.PinUserPagesFast(k.Mm, A, 6, 0, pages));     // 4 fast + 2 faulted
        Unpin(k, pages, 6);
        Assert.Equal(-Errno.EINVAL, UserPages.PinUserPagesFast(k.Mm, A, 1, Foll.Get, pages));
        Assert.Equal(3, c.GupCalls);
        Assert.Equal(10, c.GupPages);
        Assert.Equal(1, c.FastPathHits);
        Assert.Equal(8, c.FastPathPages);
        Assert.Equal(1, c.SlowPathFallbacks);
        Assert.Equal(1, c.RefusedCalls);
        Assert.Equal(2, c.GupFaults);
        Assert.Equal(10, c.PinsAcquired);
        Assert.Equal(10, c.PinsReleased);
        Assert.Equal(0, c.KernelPagesPinnedByUserGup);
    }
}
