using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

/// <summary>
/// One test per bug found reviewing the foundation; each failed before its fix. Expected values
/// marked "host" came from the running kernel (6.18) through ctypes.
/// </summary>
public class FoundationFixTests
{
    private const ulong A = KernelFixture.Arena;
    private const int P = MapFlags.Private | MapFlags.Anonymous, RW = Prot.Read | Prot.Write;

    [Fact]
    public void NonFixedHintIsRoundedDownNotUp()
    {
        using var k = new KernelFixture();
        // host: mmap(A+1, ...) and mmap(A+0xfff, ...) without MAP_FIXED both return A (x86: addr &= PAGE_MASK).
        Assert.Equal((long)A, k.Mm.Mmap(A + 1, 4096, RW, P));
        Assert.Equal((long)A + 0x10000, k.Mm.Mmap(A + 0x10fff, 4096, RW, P));
        // Rounding up would wrap this hint to 0 and then raise it to mmap_min_addr; rounded down it
        // is simply invalid and the mapping goes top-down below mmap_base.
        long r = k.Mm.Mmap(0xffff_ffff_ffff_f001, 4096, RW, P);
        Assert.True(r > 0 && (ulong)r != Layout.MmapMinAddr && (ulong)r + 4096 <= Layout.MmapBase, $"0x{r:x}");
        // A hint that rounds down to 0 is no hint at all (round_hint_to_min).
        long r2 = k.Mm.Mmap(1, 4096, RW, P);
        Assert.True((ulong)r2 > Layout.MmapMinAddr, $"0x{r2:x}");
        k.Mm.CheckInvariants();
    }

    [Fact]
    public void NonFixedLengthBeyondUserSpaceIsEnomemEvenWithAHint()
    {
        using var k = new KernelFixture();
        // host: mmap(0x200000000000, 1<<60, RW, MAP_PRIVATE|MAP_ANONYMOUS) = -ENOMEM
        Assert.Equal(-Errno.ENOMEM, k.Mm.Mmap(A, 1UL << 60, RW, P));
        Assert.Equal(-Errno.ENOMEM, k.Mm.Mmap(0, 1UL << 47, RW, P)); // host: -ENOMEM
        Assert.Empty(k.Mm.Maps());
        k.Mm.CheckInvariants();
    }

    [Fact]
    public void FileOffsetBeyondMaxFileSizeIsEoverflowAndAnonymousOffsetIsIgnored()
    {
        using var k = new KernelFixture();
        using var file = new TestFile(k.Memory, 4);
        const int S = MapFlags.Shared | MapFlags.Fixed;
        // host, memfd: offset -4096 → -EOVERFLOW; 0x7ffffffffffff000 with 4096 or 8192 bytes → -EOVERFLOW;
        // 0x7fffffffffffe000 with 4096 bytes → maps (pgoff must not pass (LLONG_MAX - len) >> PAGE_SHIFT).
        Assert.Equal(-Errno.EOVERFLOW, k.Mm.Mmap(A, 4096, Prot.Read, S, file, -4096));
        Assert.Equal(-Errno.EOVERFLOW, k.Mm.Mmap(A, 8192, Prot.Read, S, file, 0x7fff_ffff_ffff_f000));
        Assert.Equal(-Errno.EOVERFLOW, k.Mm.Mmap(A, 4096, Prot.Read, S, file, 0x7fff_ffff_ffff_f000));
        Assert.Equal((long)A, k.Mm.Mmap(A, 4096, Prot.Read, S, file, 0x7fff_ffff_ffff_e000));
        Assert.Equal(0, k.Mm.Munmap(A, 4096));
        // host: an anonymous mapping ignores the (aligned) offset, even -4096.
        Assert.Equal((long)A, k.Mm.Mmap(A, 4096, RW, P | MapFlags.Fixed, null, -4096));
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A, new byte[] { 1 }));
        Assert.Equal(0, file.Maps);
    }

    [Fact]
    public void StackGrowsDownToTheStackRlimitNotJustTheGuardGap()
    {
        using var k = new KernelFixture();
        const ulong G = 0x4000_0000_0000;
        Assert.Equal((long)G, k.Mm.Mmap(G, 4096, RW, P | MapFlags.Fixed | MapFlags.GrowsDown));
        // host (RLIMIT_STACK 8 MiB): a write 2 MiB below a one-page MAP_GROWSDOWN area grows it,
        // so does one 0x7ff000 below (8 MiB in all); 0x800000 below (8 MiB + 4 KiB) fails with EFAULT.
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, G - 0x200000, new byte[] { 1 }));
        Assert.Equal(G - 0x200000, k.Mm.Maps()[0].Start);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, G - 0x7ff000, new byte[] { 1 }));
        Assert.Equal(1UL, UserAccess.CopyToUser(k.Mm, G - 0x800000, new byte[] { 1 }));
        Assert.Equal(G - 0x7ff000, k.Mm.Maps()[0].Start);
        k.Mm.CheckInvariants();
    }

    [Fact]
    public void AccessedAndDirtyBitsAreNotSetOnAnEntryZappedUnderTheWalk()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4096);
        var one = new byte[1];
        Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, one, A)); // read fault: present, writable, clean
        Page page = new(Pte.Pfn(k.Mm.ReadPte(A)));
        Assert.Equal(0UL, k.Mm.ReadPte(A) & Pte.Dirty);
        Thread? zapper = null;
        bool pageLiveWhileWalking = false;
        k.Mm.AfterPteReadHook = addr =>
        {
            k.Mm.AfterPteReadHook = null;
            // MADV_DONTNEED on another thread clears the entry, then waits in Synchronize for this walker.
            zapper = new Thread(() => Assert.Equal(0, k.Mm.Madvise(A, 4096, Madv.DontNeed)));
            zapper.Start();
            SpinWait.SpinUntil(() => k.Mm.ReadPte(A) == 0);
            pageLiveWhileWalking = k.Memory.RefCount(page) >= 1 && (k.Memory.Flags(page) & PageFlags.Free) == 0;
        };
        UserAccess.CopyToUser(k.Mm, A, one); // a write: wants Dirty on a clean entry
        zapper!.Join();
        Assert.True(pageLiveWhileWalking, "a zapped page was freed while a walker was inside the gate");
        // Before the fix the walk OR-ed Accessed|Dirty into the cleared entry: 0x60 stayed behind,
        // a non-empty PTE table that teardown could never free (a leak at Dispose).
        Assert.Equal(0UL, k.Mm.ReadPte(A) & ~(Pte.Present | Pte.Write | Pte.User | Pte.Accessed | Pte.Dirty | Pte.PfnMask));
        k.Mm.CheckInvariants();
    }

    [Fact]
    public void ContiguousAllocationNeverHandsOutAFrameAnotherThreadIsTaking()
    {
        // Alloc popped a frame under the lock but cleared its Free flag only later, and Put set the
        // flag before pushing the frame: AllocContiguous, which scanned the flags, could take a
        // frame that Alloc had just taken, or that was about to be pushed again (a double hand-out).
        using var mem = new PhysicalMemory(64 * 4096);
        Exception? failure = null;
        void Run(Action body)
        {
            try { body(); }
            catch (Exception e) { failure ??= e; }
        }
        var single = new Thread(() => Run(() =>
        {
            for (int i = 0; i < 200_000 && failure == null; i++) mem.Put(mem.Alloc(PageOwner.KernelBuffer));
        }));
        var runs = new Thread(() => Run(() =>
        {
            for (int i = 0; i < 50_000 && failure == null; i++)
            {
                Page first = mem.AllocContiguous(4, PageOwner.KernelBuffer);
                if (first.IsNull) continue;
                for (int j = 0; j < 4; j++) mem.Put(first.Nth(j));
            }
        }));
        single.Start(); runs.Start();
        single.Join(); runs.Join();
        Assert.Null(failure);
        Assert.Empty(mem.LeakReport());
        Assert.Equal(mem.FrameCount - 1, mem.FreeFrames);
    }
}
