using Kiov.Gup;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using static Kiov.Tests.Gup.GupTestHelpers;

namespace Kiov.Tests.Gup;

public class GupFlagRuleTests
{
    public enum Entry { Get, GetUnlocked, GetRemote, GetFast, GetFastOnly, Pin, PinUnlocked, PinRemote, PinFast, PinFastOnly }

    private static long Call(KernelFixture k, Entry e, Foll flags, Span<Page> pages, int n = 1)
    {
        switch (e)
        {
            case Entry.GetUnlocked: return UserPages.GetUserPagesUnlocked(k.Mm, A, n, flags, pages);
            case Entry.GetFast: return UserPages.GetUserPagesFast(k.Mm, A, n, flags, pages);
            case Entry.GetFastOnly: return UserPages.GetUserPagesFastOnly(k.Mm, A, n, flags, pages);
            case Entry.PinUnlocked: return UserPages.PinUserPagesUnlocked(k.Mm, A, n, flags, pages);
            case Entry.PinFast: return UserPages.PinUserPagesFast(k.Mm, A, n, flags, pages);
            case Entry.PinFastOnly: return UserPages.PinUserPagesFastOnly(k.Mm, A, n, flags, pages);
        }
        using var _ = k.Mm.MmapLock.Read();
        return e switch
        {
            Entry.Get => UserPages.GetUserPages(k.Mm, A, n, flags, pages),
            Entry.GetRemote => UserPages.GetUserPagesRemote(k.Mm, A, n, flags, pages),
            Entry.Pin => UserPages.PinUserPages(k.Mm, A, n, flags, pages),
            _ => UserPages.PinUserPagesRemote(k.Mm, A, n, flags, pages),
        };
    }

    private static bool IsPin(Entry e) => e >= Entry.Pin;

    // mm/gup.c (newest stored, 6.x): pin_user_pages, pin_user_pages_unlocked and pin_user_pages_remote
    // end in `if (!is_valid_gup_args(...)) return 0;`; every other entry returns -EINVAL.
    private static long Refused(Entry e) => e is Entry.Pin or Entry.PinUnlocked or Entry.PinRemote ? 0 : -Errno.EINVAL;

    public static TheoryData<Entry, Foll> Invalid()
    {
        var d = new TheoryData<Entry, Foll>();
        foreach (Entry e in Enum.GetValues<Entry>())
        {
            // Internal flags are never accepted from a caller.
            foreach (Foll f in new[] { Foll.Pin, Foll.Touch, Foll.Tried, Foll.Remote, Foll.FastOnly, Foll.Unlockable }) d.Add(e, f);
            if (IsPin(e)) d.Add(e, Foll.Get);             // GET and PIN are exclusive
            else d.Add(e, Foll.LongTerm);                  // LONGTERM only when pinning (so never unlocked get)
        }
        // GUP-fast accepts only WRITE, LONGTERM, FORCE, PIN, GET, FAST_ONLY, NOFAULT, PCI_P2PDMA, HONOR_NUMA_FAULT.
        foreach (Entry e in new[] { Entry.GetFast, Entry.GetFastOnly, Entry.PinFast, Entry.PinFastOnly })
            foreach (Foll f in new[] { Foll.Dump, Foll.NoWait, Foll.HwPoison, Foll.Anon, Foll.SplitPmd, Foll.Interruptible }) d.Add(e, f);
        return d;
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void InvalidCombinationsAreEinvalOrZeroForTheSlowPinEntries(Entry e, Foll flags)
    {
        using var k = new KernelFixture();
        MapFilled(k, 1);
        var pages = new Page[1];
        Assert.Equal(Refused(e), Call(k, e, flags, pages));
        Assert.Equal(1, k.Memory.RefCount(Mapped(k, A)));
    }

    [Theory]
    [InlineData(Entry.Pin)]
    [InlineData(Entry.PinUnlocked)]
    [InlineData(Entry.PinRemote)]
    [InlineData(Entry.PinFast)]
    [InlineData(Entry.GetFast)]
    public void ANullPageArrayIsRefusedWhenAReferenceIsTaken(Entry e)
    {
        using var k = new KernelFixture();
        MapFilled(k, 1);
        Assert.Equal(Refused(e), Call(k, e, 0, []));
    }

    /// <summary>6.x is_valid_gup_args: "We want to allow the pgmap to be hot-unplugged at all times":
    /// FOLL_LONGTERM with FOLL_PCI_P2PDMA is refused, 0 from pin_user_pages, -EINVAL from pin_user_pages_fast.</summary>
    [Theory]
    [InlineData(Entry.Pin)]
    [InlineData(Entry.PinUnlocked)]
    [InlineData(Entry.PinRemote)]
    [InlineData(Entry.PinFast)]
    public void Linux618RefusesALongTermPinOfP2pDmaPages(Entry e)
    {
        using var k = new KernelFixture();
        MapFilled(k, 1);
        var pages = new Page[1];
        Assert.Equal(Refused(e), Call(k, e, Foll.LongTerm | Foll.PciP2pDma, pages));
        Assert.Equal(1, k.Memory.RefCount(Mapped(k, A)));
        Assert.Equal(1, Call(k, e, Foll.LongTerm, pages));           // either flag alone is fine
        Unpin(k, pages, 1);
    }

    /// <summary>5.6–6.2 mm/gup.c pin_user_pages{,_remote,_fast}: <c>if (WARN_ON_ONCE(gup_flags &amp; FOLL_GET))
    /// return -EINVAL;</c>: no zero return, and no FOLL_PCI_P2PDMA rule yet.</summary>
    [Theory]
    [InlineData(Entry.Pin)]
    [InlineData(Entry.PinUnlocked)]
    [InlineData(Entry.PinRemote)]
    [InlineData(Entry.PinFast)]
    public void Linux510PinEntriesRefuseWithEinval(Entry e)
    {
        using var k = new KernelFixture(KernelConfig.Linux5_10);
        MapFilled(k, 1);
        var pages = new Page[1];
        Assert.Equal(-Errno.EINVAL, Call(k, e, Foll.Get, pages));
        Assert.Equal(1, Call(k, e, Foll.LongTerm | Foll.PciP2pDma, pages));
        Unpin(k, pages, 1);
    }

    /// <summary>Before 5.6 there is no FOLL_PIN: a pin entry on a 2017 preset is a bug in the caller.</summary>
    [Fact]
    public void Linux410HasNoPinEntries()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        MapFilled(k, 1);
        var pages = new Page[1];
        Assert.Throws<InvalidOperationException>(() => UserPages.PinUserPagesFast(k.Mm, A, 1, 0, pages));
        Assert.Throws<InvalidOperationException>(() => UserPages.PinUserPagesUnlocked(k.Mm, A, 1, 0, pages));
    }

    [Theory]
    [InlineData(Entry.Pin)]
    [InlineData(Entry.PinUnlocked)]
    [InlineData(Entry.PinRemote)]
    [InlineData(Entry.PinFast)]
    [InlineData(Entry.PinFastOnly)]
    public void LongTermPinsAreAccepted(Entry e)
    {
        using var k = new KernelFixture();
        MapFilled(k, 1);
        var pages = new Page[1];
        Assert.Equal(1, Call(k, e, Foll.LongTerm | Foll.Write, pages));
        Assert.True(k.Memory.MaybeDmaPinned(pages[0]));
        Unpin(k, pages, 1);
    }

    [Theory]
    [InlineData(Entry.Get)]
    [InlineData(Entry.GetUnlocked)]
    [InlineData(Entry.GetFast)]
    [InlineData(Entry.Pin)]
    [InlineData(Entry.PinFast)]
    public void NoFaultStopsAtAnAbsentPage(Entry e)
    {
        using var k = new KernelFixture();
        MapFilled(k, 1);
        k.MapAnon(A + P, P);
        var pages = new Page[2];
        Assert.Equal(1, Call(k, e, Foll.NoFault, pages, 2));
        if (IsPin(e)) Unpin(k, pages, 1); else Put(k, pages, 1);
        Assert.Equal(0UL, k.Mm.ReadPte(A + P));
        Assert.Equal(0, k.Kernel.Counters.GupFaults);
    }

    [Theory]
    [InlineData(Entry.GetUnlocked)]
    [InlineData(Entry.PinFast)]
    public void NoWaitFaultsStillComplete(Entry e)
    {
        using var k = new KernelFixture();
        k.MapAnon(A, P);
        var pages = new Page[1];
        Foll f = e == Entry.PinFast ? Foll.Write : Foll.NoWait | Foll.Write;
        Assert.Equal(1, Call(k, e, f, pages));
        if (IsPin(e)) Unpin(k, pages, 1); else Put(k, pages, 1);
    }

    [Fact]
    public void WriteToAReadOnlyMappingNeedsForce()
    {
        using var k = new KernelFixture();
        MapFilled(k, 1);
        Assert.Equal(0, k.Mm.Mprotect(A, P, Prot.Read));
        var pages = new Page[1];
        Assert.Equal(-Errno.EFAULT, UserPages.PinUserPagesUnlocked(k.Mm, A, 1, Foll.Write, pages));
        Assert.Equal(-Errno.EFAULT, UserPages.PinUserPagesFast(k.Mm, A, 1, Foll.Write, pages));
        Assert.Equal(1, UserPages.PinUserPagesUnlocked(k.Mm, A, 1, Foll.Write | Foll.Force, pages));
        Unpin(k, pages, 1);
    }

    [Fact]
    public void ProtNoneIsRefusedUnlessForcedForReading()
    {
        using var k = new KernelFixture();
        MapFilled(k, 1, 0x42);
        Assert.Equal(0, k.Mm.Mprotect(A, P, Prot.None));
        var pages = new Page[1];
        Assert.Equal(-Errno.EFAULT, UserPages.PinUserPagesFast(k.Mm, A, 1, 0, pages));
        Assert.Equal(-Errno.EFAULT, UserPages.GetUserPagesUnlocked(k.Mm, A, 1, 0, pages));
        Assert.Equal(0, UserPages.GetUserPagesFastOnly(k.Mm, A, 1, Foll.Force, pages));
        // ptrace (access_process_vm) reads PROT_NONE memory with FOLL_FORCE.
        Assert.Equal(1, UserPages.GetUserPagesUnlocked(k.Mm, A, 1, Foll.Force, pages));
        Assert.Equal(0x42, k.Memory.Span(pages[0])[0]);
        Put(k, pages, 1);
    }

    [Fact]
    public void FastPathRangeChecksOfTheRunningKernel()
    {
        using var k = new KernelFixture();
        var pages = new Page[4];
        Assert.Equal(-Errno.EOVERFLOW, UserPages.PinUserPagesFast(k.Mm, 0xffff_ffff_ffff_e000, 4, 0, pages));
        Assert.Equal(-Errno.EFAULT, UserPages.PinUserPagesFast(k.Mm, Layout.TaskSizeMax - P, 2, 0, pages));
        Assert.Equal(-Errno.EOVERFLOW, UserPages.GetUserPagesFast(k.Mm, A, -1, 0, pages));
        Assert.Equal(3, k.Kernel.Counters.RefusedCalls);
    }

    [Fact]
    public void AnonOnlyRefusesAFileMapping()
    {
        using var k = new KernelFixture();
        using var file = new TestFile(k.Memory, 1, openForWrite: false);
        Assert.Equal((long)A, k.Mm.Mmap(A, P, Prot.Read, MapFlags.Private | MapFlags.Fixed, file));
        var pages = new Page[1];
        Assert.Equal(-Errno.EFAULT, UserPages.GetUserPagesUnlocked(k.Mm, A, 1, Foll.Anon, pages));
        Assert.Equal(1, UserPages.GetUserPagesUnlocked(k.Mm, A, 1, 0, pages));
        Put(k, pages, 1);
    }
}
