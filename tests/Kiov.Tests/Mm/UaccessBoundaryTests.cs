using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

/// <summary>
/// Short copies at every position around a page boundary: copy_to_user, copy_from_user and
/// clear_user over three pages whose middle one is a hole, read-only or PROT_NONE, checked against
/// a shadow of what user memory must hold. The kernel stops at the first byte it cannot reach
/// and returns the bytes not done; copy_from_user zeroes the rest of its buffer.
/// </summary>
public class UaccessBoundaryTests
{
    private const ulong A = KernelFixture.Arena;
    private const int Pg = 4096;

    public enum Middle { Hole, ReadOnly, ProtNone }

    [Theory]
    [InlineData(Middle.Hole)]
    [InlineData(Middle.ReadOnly)]
    [InlineData(Middle.ProtNone)]
    public void EveryStartAndLengthAroundTheBadPage(Middle middle)
    {
        using var k = new KernelFixture();
        var rng = new Random(42);
        var shadow = new byte[3 * Pg];
        rng.NextBytes(shadow);
        k.MapAnon(A, 3 * Pg);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A, shadow));
        switch (middle)
        {
            case Middle.Hole: Assert.Equal(0, k.Mm.Munmap(A + Pg, Pg)); break;
            case Middle.ReadOnly: Assert.Equal(0, k.Mm.Mprotect(A + Pg, Pg, Prot.Read)); break;
            default: Assert.Equal(0, k.Mm.Mprotect(A + Pg, Pg, Prot.None)); break;
        }
        bool Readable(int page) => page is 0 or 2 || (page == 1 && middle == Middle.ReadOnly);
        bool Writable(int page) => page is 0 or 2;
        // The bytes done from offset 'start' before the first page the access may not touch.
        ulong Reach(int start, int len, Func<int, bool> ok)
        {
            int pos = start;
            while (pos < start + len && pos < 3 * Pg && ok(pos / Pg)) pos = (pos / Pg + 1) * Pg;
            return (ulong)Math.Min(pos, start + len) - (ulong)start;
        }

        var src = new byte[2 * Pg];
        var dst = new byte[2 * Pg];
        IEnumerable<int> starts = Enumerable.Range(Pg - 40, 48).Concat(Enumerable.Range(2 * Pg - 8, 16)).Concat([0, 1, Pg - 1]);
        foreach (int start in starts)
            foreach (int len in Enumerable.Range(0, 72).Concat([Pg, Pg + 1, 2 * Pg - start % Pg]))
            {
                if (start + len > 3 * Pg) continue;
                string ctx = $"{middle} start {start} len {len}";
                ulong canRead = Reach(start, len, Readable), canWrite = Reach(start, len, Writable);

                // copy_from_user: the bytes reachable, then zeros.
                dst.AsSpan().Fill(0xee);
                ulong left = UserAccess.CopyFromUser(k.Mm, dst.AsSpan(0, len), A + (ulong)start);
                Assert.True((ulong)len - canRead == left, $"{ctx}: copy_from_user left {left}");
                Assert.True(dst.AsSpan(0, (int)canRead).SequenceEqual(shadow.AsSpan(start, (int)canRead)), $"{ctx}: bytes read");
                Assert.True(dst.AsSpan((int)canRead, len - (int)canRead).IndexOfAnyExcept((byte)0) < 0, $"{ctx}: tail not zeroed");
                if (len < dst.Length) Assert.Equal(0xee, dst[len]);

                // copy_to_user: the bytes reachable land, nothing after them changes.
                rng.NextBytes(src);
                left = UserAccess.CopyToUser(k.Mm, A + (ulong)start, src.AsSpan(0, len));
                Assert.True((ulong)len - canWrite == left, $"{ctx}: copy_to_user left {left}");
                src.AsSpan(0, (int)canWrite).CopyTo(shadow.AsSpan(start));
                AssertShadow(k, shadow, Readable, ctx);

                // clear_user: the same reach as a write.
                left = UserAccess.ClearUser(k.Mm, A + (ulong)start, (ulong)len);
                Assert.True((ulong)len - canWrite == left, $"{ctx}: clear_user left {left}");
                shadow.AsSpan(start, (int)canWrite).Clear();
                AssertShadow(k, shadow, Readable, ctx);
                if (canWrite > 0) // put fresh bytes back so that later rounds see non-zero memory
                {
                    rng.NextBytes(src);
                    Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A + (ulong)start, src.AsSpan(0, (int)canWrite)));
                    src.AsSpan(0, (int)canWrite).CopyTo(shadow.AsSpan(start));
                }
            }
        k.Mm.CheckInvariants();
    }

    private static void AssertShadow(KernelFixture k, byte[] shadow, Func<int, bool> readable, string ctx)
    {
        var page = new byte[Pg];
        for (int p = 0; p < 3; p++)
        {
            if (!readable(p)) continue;
            Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, page, A + (ulong)(p * Pg)));
            Assert.True(page.AsSpan().SequenceEqual(shadow.AsSpan(p * Pg, Pg)), $"{ctx}: page {p} differs from the shadow");
        }
    }

    [Fact]
    public void AHugeLengthStopsAtTheEndOfTheMappingWithoutOverflow()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 2 * Pg);
        ulong len = Layout.TaskSizeMax - (A + Pg); // passes access_ok, runs into the hole after A+2p
        Assert.Equal(len - Pg, UserAccess.ClearUser(k.Mm, A + Pg, len));
        Assert.Equal(ulong.MaxValue, UserAccess.ClearUser(k.Mm, A, ulong.MaxValue)); // wraps: refused whole
        Assert.Equal(len + 1, UserAccess.ClearUser(k.Mm, A + Pg, len + 1)); // one past the limit: refused whole
    }
}

[Collection(Kiov.Tests.Support.AllocationCollection.Name)]
public class UaccessAllocationTests
{
    [Fact]
    public unsafe void CopiesAllocateNothing()
    {
        using var k = new KernelFixture(KernelConfig.Current, 64L << 20);
        const int size = 16 << 20; // eight 2 MiB regions
        Assert.Equal((long)KernelFixture.Arena, k.Mm.Mmap(KernelFixture.Arena, size, Prot.Read | Prot.Write,
            MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate));
        byte* buf = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc(size);
        try
        {
            foreach (int len in new[] { 4096, 65536, size })
            {
                UserAccess.CopyToUser(k.Mm, KernelFixture.Arena, buf, (ulong)len); // warm up
                UserAccess.CopyFromUser(k.Mm, buf, KernelFixture.Arena, (ulong)len);
                ulong left = 0;
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 10; i++)
                {
                    left += UserAccess.CopyToUser(k.Mm, KernelFixture.Arena, buf, (ulong)len);
                    left += UserAccess.CopyFromUser(k.Mm, buf, KernelFixture.Arena, (ulong)len);
                    left += UserAccess.ClearUser(k.Mm, KernelFixture.Arena, (ulong)len);
                }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.Equal(0UL, left);
                Assert.True(allocated == 0, $"{allocated} bytes allocated by copies of {len}");
            }
        }
        finally { System.Runtime.InteropServices.NativeMemory.Free(buf); }
    }
}
