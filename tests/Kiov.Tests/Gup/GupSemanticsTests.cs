using Kiov.Gup;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;
using static Kiov.Tests.Gup.GupTestHelpers;

namespace Kiov.Tests.Gup;

public class GupSemanticsTests
{
    [Fact]
    public void ForceWriteToAPrivateReadOnlyFileMappingBreaksCowAndNeverWritesTheFilePage()
    {
        using var k = new KernelFixture();
        using var file = new TestFile(k.Memory, 2, openForWrite: false);
        Page cached = file.Cache.FindOrCreate(0);
        k.Memory.Span(cached).Fill(0x11);
        Assert.Equal((long)A, k.Mm.Mmap(A, 2 * P, Prot.Read, MapFlags.Private | MapFlags.Fixed, file));
        var before = new byte[1];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, before, A));     // the file page is mapped now
        Assert.Equal(cached, Mapped(k, A));

        var pages = new Page[1];
        Assert.Equal(-Errno.EFAULT, UserPages.GetUserPagesUnlocked(k.Mm, A, 1, Foll.Write, pages));
        Assert.Equal(1, UserPages.GetUserPagesUnlocked(k.Mm, A, 1, Foll.Write | Foll.Force, pages));
        Page copy = pages[0];
        Assert.NotEqual(cached, copy);
        Assert.Equal(PageFlags.Anon, k.Memory.Flags(copy) & PageFlags.Anon);
        k.Memory.Span(copy)[..4].Fill(0x99);                                // what ptrace's poke writes
        Put(k, pages, 1);

        Assert.True(k.Memory.Span(cached).IndexOfAnyExcept((byte)0x11) < 0, "the page-cache page was written");
        var seen = new byte[8];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, seen, A));
        Assert.Equal(new byte[] { 0x99, 0x99, 0x99, 0x99, 0x11, 0x11, 0x11, 0x11 }, seen);
        ulong pte = k.Mm.ReadPte(A);
        Assert.Equal(0UL, pte & Pte.Write);                                  // the copy stays read-only for the user
        Assert.Equal(1L, k.Mm.CowFaults);

        // An absent page of the same mapping is copied straight from the file on the forced fault.
        Assert.Equal(1, UserPages.PinUserPagesUnlocked(k.Mm, A + P, 1, Foll.Write | Foll.Force, pages));
        Assert.Equal(PageFlags.Anon, k.Memory.Flags(pages[0]) & PageFlags.Anon);
        Unpin(k, pages, 1);
        Assert.True(k.Memory.Span(file.Cache.Find(1)).IndexOfAnyExcept((byte)0) < 0);
        k.Memory.Put(cached);
    }

    [Fact]
    public void ForceWriteToASharedReadOnlyMappingIsRefused()
    {
        using var k = new KernelFixture();
        using var file = new TestFile(k.Memory, 1, openForWrite: false);
        Assert.Equal((long)A, k.Mm.Mmap(A, P, Prot.Read, MapFlags.Shared | MapFlags.Fixed, file));
        var pages = new Page[1];
        Assert.Equal(-Errno.EFAULT, UserPages.GetUserPagesUnlocked(k.Mm, A, 1, Foll.Write | Foll.Force, pages));
    }

    [Fact]
    public void VmIoAndPfnMapAreasAreRefusedOnBothPaths()
    {
        using var k = new KernelFixture();
        using var dev = new PfnDevice(k.Memory, 2);
        Assert.Equal((long)A, k.Mm.Mmap(A, 2 * P, RW, MapFlags.Shared | MapFlags.Fixed, dev));
        var data = new byte[2 * P];
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A, data));           // the user can touch it
        Assert.NotEqual(0UL, k.Mm.ReadPte(A) & Pte.Special);
        var pages = new Page[2];
        Assert.Equal(-Errno.EFAULT, UserPages.PinUserPagesFast(k.Mm, A, 2, Foll.Write, pages));
        Assert.Equal(0, UserPages.GetUserPagesFastOnly(k.Mm, A, 2, 0, pages));
        Assert.Equal(-Errno.EFAULT, UserPages.GetUserPagesUnlocked(k.Mm, A, 2, 0, pages));
        using (k.Mm.MmapLock.Read()) Assert.Equal(-Errno.EFAULT, UserPages.GetUserPages(k.Mm, A, 2, 0, []));
        Assert.Equal(0, k.Kernel.Counters.GupPages);
        Assert.Equal(0, k.Kernel.Counters.PinsAcquired);
        Assert.Equal(0, k.Mm.Munmap(A, 2 * P));
    }

    private static void MapStack(KernelFixture k, ulong top, int pages)
    {
        long r = k.Mm.Mmap(top - (ulong)pages * P, (ulong)pages * P, RW,
            MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.GrowsDown);
        Assert.Equal((long)(top - (ulong)pages * P), r);
    }

    [Fact]
    public void Linux2017SlowPathGrowsAGrowsDownStack()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        ulong top = A + 64 * P;
        MapStack(k, top, 2);
        ulong below = top - 4 * P;                      // two pages under the stack's start
        var pages = new Page[1];
        Assert.Equal(1, UserPages.GetUserPagesUnlocked(k.Mm, below, 1, Foll.Write, pages));
        Assert.Equal(below, k.Mm.Maps().Single().Start);
        Put(k, pages, 1);
        Assert.Equal(1, UserPages.GetUserPagesFast(k.Mm, below - P, 1, Foll.Write, pages));
        Put(k, pages, 1);
    }

    [Fact]
    public void CurrentKernelSlowPathNeverGrowsTheStack()
    {
        using var k = new KernelFixture();
        ulong top = A + 64 * P;
        MapStack(k, top, 2);
        var pages = new Page[1];
        Assert.Equal(-Errno.EFAULT, UserPages.PinUserPagesUnlocked(k.Mm, top - 4 * P, 1, Foll.Write, pages));
        Assert.Equal(-Errno.EFAULT, UserPages.PinUserPagesFast(k.Mm, top - 3 * P, 1, Foll.Write, pages));
        Assert.Equal(top - 2 * P, k.Mm.Maps().Single().Start);
    }

    [Fact]
    public void RemoteGupReachesAnotherAddressSpace()
    {
        using var k = new KernelFixture();
        using var other = new AddressSpace(k.Kernel);
        Assert.Equal((long)A, other.Mmap(A, 2 * P, RW, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed));
        Assert.Equal(0UL, UserAccess.CopyToUser(other, A, new byte[] { 1, 2, 3 }));
        var pages = new Page[2];
        long n;
        using (other.MmapLock.Read()) n = UserPages.PinUserPagesRemote(other, A, 2, Foll.Write, pages);
        Assert.Equal(2, n);
        Assert.True(other.HasPinned);
        Assert.False(k.Mm.HasPinned);
        Assert.Equal(new byte[] { 1, 2, 3 }, k.Memory.Span(pages[0])[..3].ToArray());
        Assert.Equal(0UL, k.Mm.ReadPte(A));                                   // nothing in the caller's own space
        k.Memory.Span(pages[1])[0] = 7;                                      // process_vm_writev-style write
        Unpin(k, pages, 2);
        var back = new byte[1];
        Assert.Equal(0UL, UserAccess.CopyFromUser(other, back, A + P));
        Assert.Equal(7, back[0]);
        using (other.MmapLock.Read()) n = UserPages.GetUserPagesRemote(other, A, 1, 0, pages);
        Assert.Equal(1, n);
        Put(k, pages, 1);
        using (other.MmapLock.Read()) Assert.Equal(-Errno.EFAULT, UserPages.GetUserPagesRemote(other, A + 2 * P, 1, 0, pages));
    }

    private static Page SecretKernelPage(KernelFixture k)
    {
        Page secret = k.Memory.Alloc(PageOwner.KernelBuffer);
        k.Memory.Span(secret).Fill(0x5e);
        return secret;
    }

    [Fact]
    public void CurrentKernelRefusesAKernelAddressOnEveryPath()
    {
        using var k = new KernelFixture();
        Page secret = SecretKernelPage(k);
        ulong kaddr = PhysicalMemory.KernelAddress(secret);
        var pages = new Page[1];
        Assert.Equal(-Errno.EFAULT, UserPages.PinUserPagesFast(k.Mm, kaddr, 1, 0, pages));
        Assert.Equal(-Errno.EFAULT, UserPages.GetUserPagesFast(k.Mm, kaddr, 1, 0, pages));
        Assert.Equal(-Errno.EFAULT, UserPages.PinUserPagesUnlocked(k.Mm, kaddr, 1, 0, pages));
        Assert.Equal(0, k.Kernel.Counters.KernelPagesPinnedByUserGup);
        Assert.Equal(1, k.Memory.RefCount(secret));
        k.Memory.Put(secret);
    }
}
