using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

public class UserAccessTests
{
    private const ulong A = KernelFixture.Arena;

    [Fact]
    public void ShortCopyStopsAtEveryPageBoundaryPosition()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 2 * 4096);          // [A, A+2p) mapped, [A+2p, A+3p) a hole
        var src = new byte[3 * 4096];
        new Random(1).NextBytes(src);
        for (ulong start = A + 4096 - 64; start <= A + 2 * 4096; start += 8)
        {
            ulong len = A + 2 * 4096 + 100 - start;
            ulong expectNotCopied = Math.Min(len, 100);
            Assert.Equal(expectNotCopied, UserAccess.CopyToUser(k.Mm, start, src.AsSpan(0, (int)len)));
            var back = new byte[len];
            Assert.Equal(expectNotCopied, UserAccess.CopyFromUser(k.Mm, back, start));
            Assert.True(back.AsSpan(0, (int)(len - expectNotCopied)).SequenceEqual(src.AsSpan(0, (int)(len - expectNotCopied))));
            Assert.True(back.AsSpan((int)(len - expectNotCopied)).IndexOfAnyExcept((byte)0) < 0);
        }
    }

    [Fact]
    public void WriteToReadOnlyPageStopsThere()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 2 * 4096);
        Assert.Equal(0, k.Mm.Mprotect(A + 4096, 4096, Prot.Read));
        Assert.Equal(4096UL - 10, UserAccess.CopyToUser(k.Mm, A + 4096 - 10, new byte[4096]));
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, new byte[4096], A + 10));
        Assert.Equal(0, k.Mm.Mprotect(A + 4096, 4096, Prot.None));
        Assert.Equal(4096UL - 10, UserAccess.CopyFromUser(k.Mm, new byte[4096], A + 4096 - 10));
    }

    [Fact]
    public void KernelAddressIsRefusedByAccessOk()
    {
        using var k = new KernelFixture();
        Assert.Equal(16UL, UserAccess.CopyFromUser(k.Mm, new byte[16], Layout.DirectMapBase));
        Assert.Equal(16UL, UserAccess.CopyToUser(k.Mm, 0x800000000000, new byte[16]));
        Assert.False(UserAccess.AccessOk(KernelConfig.Current, 0x7ffffffff000 - 8, 16));
        Assert.True(UserAccess.AccessOk(KernelConfig.Current, 0x7ffffffff000 - 16, 16));
        Assert.False(UserAccess.AccessOk(KernelConfig.Current, ulong.MaxValue, 2));
    }

    [Fact]
    public void KernelDsLetsAKernelAddressThroughTheDirectMap()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        Page page = k.Memory.Alloc(PageOwner.KernelBuffer);
        k.Memory.Span(page)[..4].Fill(0x5a);
        ulong kaddr = PhysicalMemory.KernelAddress(page);
        var back = new byte[4];
        Assert.Equal(4UL, UserAccess.CopyFromUser(k.Mm, back, kaddr));
        using (UserAccess.SetKernelDs(k.Kernel.Config))
            Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, back, kaddr));
        Assert.Equal(new byte[] { 0x5a, 0x5a, 0x5a, 0x5a }, back);
        Assert.Throws<InvalidOperationException>(() => UserAccess.SetKernelDs(KernelConfig.Current));
        k.Memory.Put(page);
    }

    [Fact]
    public void ClearUserZeroesUpToAHole()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4096);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A, Enumerable.Repeat((byte)7, 4096).ToArray()));
        Assert.Equal(100UL, UserAccess.ClearUser(k.Mm, A + 100, 4096));
        var back = new byte[4096];
        UserAccess.CopyFromUser(k.Mm, back, A);
        Assert.Equal(100, back.AsSpan().IndexOf((byte)0));
        Assert.True(back.AsSpan(100).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void FreedFrameAccessIsDetected()
    {
        using var mem = new PhysicalMemory(1 << 20);
        Page p = mem.Alloc(PageOwner.KernelBuffer);
        mem.Put(p);
        Assert.Throws<KiovBugException>(() => mem.Span(p));
        Assert.Throws<KiovBugException>(() => mem.Put(p));
    }
}
