using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

/// <summary>
/// mmap, munmap, mprotect and madvise with random, often absurd arguments (a fixed seed): every
/// call returns an address or 0 or an errno Linux gives for that call, and after every call the
/// VMA tree and the page tables pass <see cref="AddressSpace.CheckInvariants"/>; no frame leaks.
/// </summary>
public class MmFuzzTests
{
    private const ulong A = KernelFixture.Arena;
    private const ulong Pg = 4096;

    // EAGAIN: MAP_LOCKED past RLIMIT_MEMLOCK (mlock_future_ok); EOPNOTSUPP: MAP_SHARED_VALIDATE with other flags.
    private static readonly int[] MmapErrnos = [Errno.EINVAL, Errno.ENOMEM, Errno.EPERM, Errno.EEXIST, Errno.EBADF, Errno.EACCES, Errno.EOVERFLOW, Errno.EAGAIN, Errno.EOPNOTSUPP];
    private static readonly int[] MunmapErrnos = [Errno.EINVAL];
    private static readonly int[] MprotectErrnos = [Errno.EINVAL, Errno.ENOMEM, Errno.EACCES];
    // EACCES and EPERM: MADV_REMOVE of a private or write-sealed mapping; EFAULT: MADV_POPULATE_* past a file's end.
    private static readonly int[] MadviseErrnos = [Errno.EINVAL, Errno.ENOMEM, Errno.EACCES, Errno.EPERM, Errno.EFAULT];

    private static ulong NextULong(Random rng) => (ulong)rng.NextInt64() ^ ((ulong)rng.Next(2) << 63);

    private static ulong Address(Random rng) => rng.Next(12) switch
    {
        0 => 0,
        1 => (ulong)rng.Next(0, 0x10000),                                   // below mmap_min_addr
        2 or 3 or 4 => A + (ulong)rng.Next(0, 256) * Pg,                   // the arena, aligned
        5 => A + (ulong)rng.Next(0, 256 * 4096),                            // the arena, unaligned
        6 => Layout.TaskSizeMax - (ulong)rng.Next(-4, 4) * Pg,             // the top of user space
        7 => 0x8000_0000_0000UL + (ulong)rng.Next(0, 16) * Pg,             // non-canonical
        8 => Layout.DirectMapBase + (ulong)rng.Next(0, 1 << 20),           // kernel
        9 => ulong.MaxValue - (ulong)rng.Next(0, 3 * 4096),                 // about to wrap
        10 => Layout.MmapBase - (ulong)rng.Next(0, 64) * Pg,
        _ => NextULong(rng),
    };

    private static ulong Length(Random rng) => rng.Next(10) switch
    {
        0 => 0,
        1 => (ulong)rng.Next(1, 3 * 4096),                                  // unaligned
        2 or 3 or 4 => (ulong)rng.Next(1, 64) * Pg,
        5 => ulong.MaxValue - (ulong)rng.Next(0, 2 * 4096),                 // near 2^64
        6 => 1UL << rng.Next(12, 64),
        7 => Layout.TaskSizeMax - (ulong)rng.Next(0, 4) * Pg,
        8 => (ulong)rng.Next(1, 1 << 20) * Pg,                              // big but placeable
        _ => NextULong(rng),
    };

    private static int Protection(Random rng) => rng.Next(8) switch
    {
        0 => Prot.None,
        1 => Prot.Read,
        2 or 3 => Prot.Read | Prot.Write,
        4 => Prot.Read | Prot.Exec,
        5 => Prot.Read | (rng.Next(2) == 0 ? Prot.GrowsDown : Prot.GrowsUp),
        6 => Prot.Read | Prot.Write | Prot.Exec | Prot.Sem,
        _ => rng.Next(),
    };

    private static int Flags(Random rng)
    {
        int[] types = [MapFlags.Private, MapFlags.Private, MapFlags.Private, MapFlags.Shared, MapFlags.SharedValidate, 0, 0x0f, 0x08];
        int flags = types[rng.Next(types.Length)];
        if (rng.Next(10) != 0) flags |= MapFlags.Anonymous;
        if (rng.Next(2) == 0) flags |= MapFlags.Fixed;
        if (rng.Next(6) == 0) flags |= MapFlags.FixedNoReplace;
        if (rng.Next(8) == 0) flags |= MapFlags.Populate;
        if (rng.Next(8) == 0) flags |= MapFlags.GrowsDown;
        if (rng.Next(10) == 0) flags |= rng.Next() & ~0xff;
        return flags;
    }

    [Fact]
    public void RandomArgumentsGiveLinuxErrnosAndKeepTheStructuresConsistent()
    {
        using var k = new KernelFixture();
        var rng = new Random(20250601);
        var counts = new Dictionary<string, int>();
        for (int call = 0; call < 6000; call++)
        {
            ulong addr = Address(rng), len = Length(rng);
            string what;
            long r;
            int[] allowed;
            switch (rng.Next(6))
            {
                case 0:
                case 1:
                    int prot = Protection(rng), flags = Flags(rng);
                    long offset = rng.Next(4) == 0 ? (long)NextULong(rng) : rng.Next(0, 4) * 4096;
                    what = $"mmap(0x{addr:x}, 0x{len:x}, 0x{prot:x}, 0x{flags:x}, -, 0x{offset:x})";
                    r = k.Mm.Mmap(addr, len, prot, flags, null, offset);
                    allowed = MmapErrnos;
                    if (r >= 0) CheckMapped(k, what, r, addr, len, flags);
                    break;
                case 2:
                    what = $"munmap(0x{addr:x}, 0x{len:x})";
                    r = k.Mm.Munmap(addr, len);
                    allowed = MunmapErrnos;
                    if (r == 0 && len != 0)
                        Assert.True(k.Mm.Maps().All(v => v.End <= addr || v.Start >= addr + ((len + Pg - 1) & ~(Pg - 1))), $"{what} left an area");
                    break;
                case 3:
                    int p = Protection(rng);
                    what = $"mprotect(0x{addr:x}, 0x{len:x}, 0x{p:x})";
                    r = k.Mm.Mprotect(addr, len, p);
                    allowed = MprotectErrnos;
                    break;
                case 4:
                    int advice = rng.Next(3) == 0 ? rng.Next(-2, 200) : rng.Next(0, 5);
                    what = $"madvise(0x{addr:x}, 0x{len:x}, {advice})";
                    r = k.Mm.Madvise(addr, len, advice);
                    allowed = MadviseErrnos;
                    break;
                default:
                    // Touch memory so that the page tables have something to audit.
                    ulong at = A + (ulong)rng.Next(0, 300 * 4096), n = (ulong)rng.Next(1, 3 * 4096);
                    what = $"clear_user(0x{at:x}, 0x{n:x})";
                    ulong left = rng.Next(2) == 0 ? UserAccess.ClearUser(k.Mm, at, n) : UserAccess.CopyFromUser(k.Mm, new byte[n], at);
                    Assert.True(left == 0 || left == n || ((at + n - left) & (Pg - 1)) == 0, $"{what}: {left} left");
                    r = 0;
                    allowed = [];
                    break;
            }
            Assert.True(r >= 0 || allowed.Contains((int)-r), $"call {call}: {what} = {r}, not an errno Linux gives there");
            string key = what[..what.IndexOf('(')] + " " + (r >= 0 ? "ok" : $"-{-r}");
            counts[key] = counts.GetValueOrDefault(key) + 1;
            try { k.Mm.CheckInvariants(); }
            catch (KiovBugException e) { Assert.Fail($"call {call}: after {what} = {r}: {e.Message}"); }
        }
        // The fuzzer reached both outcomes of every call, and most errnos.
        foreach (string key in new[] { "mmap ok", "mmap -22", "mmap -12", "mmap -1", "mmap -17", "mmap -9", "munmap ok", "munmap -22",
                                       "mprotect ok", "mprotect -22", "mprotect -12", "madvise ok", "madvise -22", "madvise -12" })
            Assert.True(counts.GetValueOrDefault(key) > 0, $"never saw {key}: {string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"))}");
    }

    private static void CheckMapped(KernelFixture k, string what, long r, ulong addr, ulong len, int flags)
    {
        ulong start = (ulong)r, size = (len + Pg - 1) & ~(Pg - 1);
        Assert.True(start % Pg == 0 && start >= Layout.MmapMinAddr && start + size <= Layout.TaskSizeMax && start + size > start, $"{what} = 0x{r:x}");
        if ((flags & (MapFlags.Fixed | MapFlags.FixedNoReplace)) != 0) Assert.True(start == addr, $"{what} = 0x{r:x}, not the fixed address");
        // The whole range is mapped now.
        ulong cursor = start;
        foreach (var v in k.Mm.Maps())
            if (v.Start <= cursor && v.End > cursor) cursor = v.End;
        Assert.True(cursor >= start + size, $"{what} = 0x{r:x} but 0x{cursor:x} is not mapped");
    }
}
