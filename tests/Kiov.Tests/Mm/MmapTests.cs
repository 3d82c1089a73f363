using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

public class MmapTests
{
    private const ulong A = KernelFixture.Arena;
    private const int P = MapFlags.Private | MapFlags.Anonymous, F = MapFlags.Fixed, RW = Prot.Read | Prot.Write;

    // Each row: what the running kernel (6.18) returned for the same call (probed with ctypes).
    [Theory]
    [InlineData(A, 0UL, RW, P | F, -Errno.EINVAL)]                    // zero length
    [InlineData(A + 1, 4096UL, RW, P | F, -Errno.EINVAL)]             // unaligned fixed
    [InlineData(A, 4096UL, RW, MapFlags.Anonymous | F, -Errno.EINVAL)] // no type
    [InlineData(A, 4096UL, RW, MapFlags.SharedValidate | MapFlags.Anonymous | F, -Errno.EINVAL)]
    [InlineData(A, ulong.MaxValue - 4095, RW, P | F, -Errno.ENOMEM)]  // length overflows when aligned
    [InlineData(A, ulong.MaxValue, RW, P | F, -Errno.ENOMEM)]
    [InlineData(0xffff888000000000UL, 4096UL, RW, P | F, -Errno.ENOMEM)] // kernel address
    [InlineData(0x7ffffffff000UL, 4096UL, RW, P | F, -Errno.ENOMEM)]     // TASK_SIZE
    [InlineData(0x800000000000UL, 4096UL, RW, P | F, -Errno.ENOMEM)]     // non-canonical
    [InlineData(0xffff888000000000UL, 4096UL, RW, MapFlags.Anonymous | F, -Errno.ENOMEM)] // placement before type
    [InlineData(0x300000000001UL, 4096UL, RW, MapFlags.Anonymous | F, -Errno.EINVAL)]
    [InlineData(0x1000UL, 4096UL, RW, P | F, -Errno.EPERM)]            // below mmap_min_addr (unprivileged)
    public void MmapErrnos(ulong addr, ulong len, int prot, int flags, long expected)
    {
        using var k = new KernelFixture();
        Assert.Equal(expected, k.Mm.Mmap(addr, len, prot, flags));
    }

    [Fact]
    public void MmapUnalignedOffsetIsEinvalEvenForAnonymousMemory()
    {
        using var k = new KernelFixture();
        Assert.Equal(-Errno.EINVAL, k.Mm.Mmap(A, 4096, RW, P | F, null, 1));
        Assert.Equal(-Errno.EBADF, k.Mm.Mmap(A, 4096, RW, MapFlags.Private | F, null, 0));
    }

    [Fact]
    public void NonFixedHintBelowMinAddrIsRaisedToIt()
    {
        using var k = new KernelFixture();
        Assert.Equal(0x10000L, k.Mm.Mmap(0x1000, 4096, RW, P));
        long other = k.Mm.Mmap(0, 8192, RW, P);
        Assert.True(other > 0 && (ulong)other + 8192 <= Layout.MmapBase);
    }

    [Fact]
    public void FixedNoReplaceOverAMappingIsEexist()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 8192);
        Assert.Equal(-Errno.EEXIST, k.Mm.Mmap(A + 4096, 4096, RW, P | MapFlags.FixedNoReplace));
        Assert.Equal((long)A + 8192, k.Mm.Mmap(A + 8192, 4096, RW, P | MapFlags.FixedNoReplace));
    }

    [Theory]
    [InlineData(A, 0UL, -Errno.EINVAL)]
    [InlineData(A + 1, 4096UL, -Errno.EINVAL)]
    [InlineData(A, 1UL, 0L)]
    [InlineData(0xffff888000000000UL, 4096UL, -Errno.EINVAL)]
    [InlineData(A, ulong.MaxValue - 4095, -Errno.EINVAL)]
    [InlineData(0x7ffffffff000UL, 4096UL, -Errno.EINVAL)]
    [InlineData(0x7fffffffe000UL, 8192UL, -Errno.EINVAL)]
    [InlineData(0x200000000000UL, 4096UL, 0L)] // a hole is fine
    public void MunmapErrnos(ulong addr, ulong len, long expected)
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4096);
        Assert.Equal(expected, k.Mm.Munmap(addr, len));
    }

    [Theory]
    [InlineData(A, 0UL, Prot.Read, 0L)]
    [InlineData(A + 1, 4096UL, Prot.Read, -Errno.EINVAL)]
    [InlineData(A + 1, 0UL, Prot.Read, -Errno.EINVAL)]
    [InlineData(0x200000000000UL, 4096UL, Prot.Read, -Errno.ENOMEM)]
    [InlineData(A, 4096UL, 0x100, -Errno.EINVAL)]
    [InlineData(A, 4096UL, Prot.Read | Prot.GrowsUp, -Errno.EINVAL)]
    [InlineData(A, ulong.MaxValue - 4095, Prot.Read, -Errno.ENOMEM)]
    [InlineData(A, ulong.MaxValue, Prot.Read, -Errno.ENOMEM)]
    [InlineData(0xffff888000000000UL, 4096UL, Prot.Read, -Errno.ENOMEM)]
    // The order of the checks, from the host: both grows bits, alignment, zero length, overflow,
    // unknown prot bits, the lookup, then PROT_GROWSUP/PROT_GROWSDOWN against the area.
    [InlineData(A, 0UL, 0x100, 0L)]
    [InlineData(A + 1, 0UL, 0x100, -Errno.EINVAL)]
    [InlineData(A, 0UL, Prot.GrowsUp, 0L)]
    [InlineData(A, 0UL, Prot.GrowsUp | Prot.GrowsDown, -Errno.EINVAL)]
    [InlineData(A + 1, 0UL, Prot.GrowsUp | Prot.GrowsDown, -Errno.EINVAL)]
    [InlineData(A, ulong.MaxValue - 4095, Prot.Read | Prot.GrowsUp, -Errno.ENOMEM)]
    [InlineData(A, ulong.MaxValue - 4095, Prot.Read | Prot.GrowsUp | Prot.GrowsDown, -Errno.EINVAL)]
    [InlineData(A, ulong.MaxValue - 4095, 0x100, -Errno.ENOMEM)]
    [InlineData(0x300000000000UL, 4096UL, 0x100, -Errno.EINVAL)]
    [InlineData(0x300000000000UL, 4096UL, Prot.Read | Prot.GrowsUp, -Errno.ENOMEM)]
    [InlineData(0x300000000000UL, 4096UL, Prot.Read | Prot.GrowsDown, -Errno.ENOMEM)]
    [InlineData(A, 4096UL, Prot.Read | Prot.GrowsDown, -Errno.EINVAL)] // not a grows-down area
    [InlineData(A, 4096UL, Prot.Read | Prot.Write | Prot.Sem, 0L)]
    public void MprotectErrnos(ulong addr, ulong len, int prot, long expected)
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4096);
        Assert.Equal(expected, k.Mm.Mprotect(addr, len, prot));
    }

    [Theory]
    [InlineData(A, 0UL, Madv.DontNeed, 0L)]
    [InlineData(A + 1, 4096UL, Madv.DontNeed, -Errno.EINVAL)]
    [InlineData(A + 1, 0UL, Madv.DontNeed, -Errno.EINVAL)]
    [InlineData(0x200000000000UL, 4096UL, Madv.DontNeed, -Errno.ENOMEM)]
    [InlineData(0x200000000000UL, 0UL, 999, -Errno.EINVAL)]
    [InlineData(A, 4096UL, 999, -Errno.EINVAL)]
    [InlineData(A, ulong.MaxValue - 4095, Madv.DontNeed, -Errno.EINVAL)]
    [InlineData(A, ulong.MaxValue, Madv.DontNeed, -Errno.EINVAL)]
    [InlineData(0xffff888000000000UL, 4096UL, Madv.DontNeed, -Errno.ENOMEM)]
    public void MadviseErrnos(ulong addr, ulong len, int advice, long expected)
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4096);
        Assert.Equal(expected, k.Mm.Madvise(addr, len, advice));
    }

    [Fact]
    public void MprotectChangesAreasBeforeAHoleThenSaysEnomem()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 8192);
        k.MapAnon(A + 3 * 4096, 4096);
        Assert.Equal(-Errno.ENOMEM, k.Mm.Mprotect(A, 5 * 4096, Prot.Read));
        var maps = k.Mm.Maps();
        Assert.Equal(2, maps.Count);
        Assert.Equal(VmFlags.Read, maps[0].Flags & VmFlags.AccessMask);
        Assert.Equal(VmFlags.Read | VmFlags.Write, maps[1].Flags & VmFlags.AccessMask);
        Assert.Equal(-Errno.ENOMEM, k.Mm.Mprotect(A - 4096, 8192, RW)); // starts in a hole: nothing changes
        Assert.Equal(VmFlags.Read, k.Mm.Maps()[0].Flags & VmFlags.AccessMask);
    }

    [Fact]
    public void MprotectSplitsAndMergesBack()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 3 * 4096);
        Assert.Equal(0, k.Mm.Mprotect(A + 4096, 4096, Prot.Read));
        Assert.Equal(3, k.Mm.Maps().Count);
        Assert.Equal(0, k.Mm.Mprotect(A + 4096, 4096, RW));
        var maps = k.Mm.Maps();
        Assert.Single(maps);
        Assert.Equal(A, maps[0].Start);
        Assert.Equal(A + 3 * 4096, maps[0].End);
    }

    [Fact]
    public void AdjacentAnonymousMappingsMerge()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4096);
        k.MapAnon(A + 8192, 4096);
        Assert.Equal(2, k.Mm.Maps().Count);
        k.MapAnon(A + 4096, 4096);
        Assert.Single(k.Mm.Maps());
        Assert.Equal(0, k.Mm.Munmap(A + 4096, 4096));
        Assert.Equal(2, k.Mm.Maps().Count);
    }

    [Fact]
    public void MunmapOfAnyRangeFreesPagesAndTables()
    {
        var rng = new Random(7);
        for (int round = 0; round < 30; round++)
        {
            using var k = new KernelFixture();
            int baseline = k.Memory.FreeFrames;
            k.MapAnon(A, 64 * 4096);
            var buf = new byte[64 * 4096];
            rng.NextBytes(buf);
            Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A, buf));
            Assert.True(k.Memory.FreeFrames < baseline - 64);
            ulong lo = (ulong)rng.Next(0, 64), hi = (ulong)rng.Next((int)lo + 1, 65);
            Assert.Equal(0, k.Mm.Munmap(A + lo * 4096, (hi - lo) * 4096));
            Assert.Equal(0, k.Mm.Munmap(A, 64 * 4096));
            Assert.Equal(baseline, k.Memory.FreeFrames);
            Assert.Equal(0UL, k.Mm.ReadPte(A));
        }
    }

    [Fact]
    public void DontNeedZeroesPrivateAnonymousMemory()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 8192);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A, new byte[] { 1, 2, 3 }));
        Assert.Equal(0, k.Mm.Madvise(A, 4096, Madv.DontNeed));
        var back = new byte[3];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, back, A));
        Assert.Equal(new byte[3], back);
    }

    [Fact]
    public void KernelHalfIsSharedSupervisorOnly()
    {
        using var k = new KernelFixture();
        ulong e = k.Mm.ReadPte(Layout.DirectMapBase + 5 * 4096);
        Assert.True((e & Pte.Present) != 0);
        Assert.True((e & Pte.Huge) != 0);
        Assert.True((e & Pte.User) == 0);
    }
}
