using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

/// <summary>The errno paths MmapTests does not cover. "host" marks a value probed on the running kernel (6.18) with ctypes.</summary>
public class MmErrnoTests
{
    private const ulong A = KernelFixture.Arena;
    private const int P = MapFlags.Private | MapFlags.Anonymous, F = MapFlags.Fixed, RW = Prot.Read | Prot.Write;

    [Fact]
    public void SharedMappingOfAReadOnlyFileRefusesWrite()
    {
        using var k = new KernelFixture();
        using var ro = new TestFile(k.Memory, 2, openForWrite: false);
        // host, O_RDONLY file: MAP_SHARED PROT_READ|PROT_WRITE → -EACCES; PROT_READ maps;
        // mprotect(PROT_READ|PROT_WRITE) on it → -EACCES; MAP_PRIVATE PROT_READ|PROT_WRITE maps.
        Assert.Equal(-Errno.EACCES, k.Mm.Mmap(A, 4096, RW, MapFlags.Shared | F, ro));
        Assert.Equal((long)A, k.Mm.Mmap(A, 4096, Prot.Read, MapFlags.Shared | F, ro));
        Assert.Equal(-Errno.EACCES, k.Mm.Mprotect(A, 4096, RW));
        Assert.Equal(0, k.Mm.Mprotect(A, 4096, Prot.Read | Prot.Exec));
        Assert.Equal((long)A + 8192, k.Mm.Mmap(A + 8192, 4096, RW, MapFlags.Private | F, ro));
        // A private write copies: the file's page is never written.
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A + 8192, new byte[] { 7 }));
        Assert.Equal(0, ro.Cache.Memory.Span(ro.Cache.Find(0))[0]);
        Assert.Equal(1L, k.Mm.CowFaults);
        // mprotect over both: EACCES at the shared one, after nothing changed (it is first).
        Assert.Equal(-Errno.EACCES, k.Mm.Mprotect(A, 3 * 4096, RW));
        Assert.Equal(0, k.Mm.Munmap(A, 3 * 4096));
        Assert.Equal(0, ro.Maps);
    }

    [Fact]
    public void MissingFileIsEbadfAndFileIsIgnoredWithMapAnonymous()
    {
        using var k = new KernelFixture();
        using var file = new TestFile(k.Memory, 1);
        Assert.Equal(-Errno.EBADF, k.Mm.Mmap(A, 4096, RW, MapFlags.Shared | F));
        Assert.Equal(-Errno.EINVAL, k.Mm.Mmap(A, 4096, RW, MapFlags.Shared | F, null, 1)); // offset checked first
        Assert.Equal((long)A, k.Mm.Mmap(A, 4096, RW, P | F, file)); // host: the fd of MAP_ANONYMOUS is ignored
        Assert.True(k.Mm.Maps()[0].IsAnonymous);
        Assert.Equal(0, file.Maps);
        Assert.Equal(-Errno.EINVAL, k.Mm.Mmap(A, 0, Prot.Read, MapFlags.Shared | F, file)); // host, memfd: len 0
        Assert.Equal(-Errno.ENOMEM, k.Mm.Mmap(A, ulong.MaxValue - 4095, Prot.Read, MapFlags.Shared | F, file)); // host
        Assert.Equal(-Errno.EINVAL, k.Mm.Mmap(A, 4096, Prot.Read, 0 | F, file)); // no MAP_TYPE
        Assert.Equal((long)A, k.Mm.Mmap(A, 4096, Prot.Read, MapFlags.SharedValidate | F, file));
    }

    [Theory]
    // host: MAP_FIXED_NOREPLACE is fixed before the hint would be rounded.
    [InlineData(A + 1, -Errno.EINVAL)]
    [InlineData(0xffff888000000000UL, -Errno.ENOMEM)]
    [InlineData(0x7ffffffff000UL, -Errno.ENOMEM)]
    public void FixedNoReplacePlacementErrnos(ulong addr, long expected)
    {
        using var k = new KernelFixture();
        Assert.Equal(expected, k.Mm.Mmap(addr, 4096, RW, P | MapFlags.FixedNoReplace));
    }

    [Theory]
    [InlineData(0xffff888000000000UL)] // host: a kernel-address hint is ignored
    [InlineData(0x7ffffffff001UL)]     // host: so is one whose page would end past TASK_SIZE
    public void BadHintsAreIgnored(ulong hint)
    {
        using var k = new KernelFixture();
        long r = k.Mm.Mmap(hint, 4096, RW, P);
        Assert.True(r > 0 && (ulong)r + 4096 <= Layout.MmapBase, $"0x{r:x}");
    }

    [Fact]
    public void MoreThanMaxMapCountAreasIsEnomem()
    {
        using var k = new KernelFixture();
        // Alternating protections keep every page its own area.
        for (int i = 0; i < Layout.MaxMapCount; i++)
            Assert.Equal((long)(A + (ulong)i * 4096), k.Mm.Mmap(A + (ulong)i * 4096, 4096, i % 2 == 0 ? RW : Prot.Read, P | F));
        // host: do_mmap refuses only when map_count > max_map_count, so a process reaches 65531
        // areas (probed: 113 areas of python3 + 65418 one-page mappings, then -ENOMEM).
        Assert.True(k.Mm.Mmap(0, 4096, RW, P) > 0);
        Assert.Equal(Layout.MaxMapCount + 1, k.Mm.Vmas.Count);
        Assert.Equal(-Errno.ENOMEM, k.Mm.Mmap(0, 4096, RW, P));
        Assert.Equal(0, k.Mm.Munmap(A, 4096));
        Assert.True(k.Mm.Mmap(0, 4096, Prot.Read, P) > 0); // placed below the last one; another protection, so no merge
        Assert.Equal(Layout.MaxMapCount + 1, k.Mm.Vmas.Count);
        Assert.Equal(-Errno.ENOMEM, k.Mm.Mmap(0, 4096, Prot.Exec, P));
    }

    [Fact]
    public void DontNeedRefusesLockedAndPfnMapAreasAfterZappingTheOnesBefore()
    {
        using var k = new KernelFixture();
        using var dev = new TestFile(k.Memory, 4, mmapFlags: VmFlags.PfnMap | VmFlags.Io);
        using var locked = new TestFile(k.Memory, 4, mmapFlags: VmFlags.Locked);
        k.MapAnon(A, 4096);
        Assert.Equal((long)A + 4096, k.Mm.Mmap(A + 4096, 4096, Prot.Read, MapFlags.Shared | F, dev));
        Assert.Equal((long)A + 8192, k.Mm.Mmap(A + 8192, 4096, Prot.Read, MapFlags.Shared | F, locked));
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A, new byte[] { 5 }));
        Assert.Equal(-Errno.EINVAL, k.Mm.Madvise(A, 3 * 4096, Madv.DontNeed));
        Assert.Equal(0UL, k.Mm.ReadPte(A)); // the anonymous page before was dropped
        Assert.Equal(-Errno.EINVAL, k.Mm.Madvise(A + 8192, 4096, Madv.DontNeed));
        Assert.Equal(0, k.Mm.Madvise(A + 8192, 4096, Madv.WillNeed)); // other advice is fine
    }

    [Fact]
    public void MadviseAcrossAHoleAppliesToTheMappedPartsAndSaysEnomem()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4096);
        k.MapAnon(A + 2 * 4096, 4096);
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A, new byte[] { 1 }));
        Assert.Equal(0UL, UserAccess.CopyToUser(k.Mm, A + 2 * 4096, new byte[] { 1 }));
        Assert.Equal(-Errno.ENOMEM, k.Mm.Madvise(A, 3 * 4096, Madv.DontNeed));
        Assert.Equal(0UL, k.Mm.ReadPte(A));
        Assert.Equal(0UL, k.Mm.ReadPte(A + 2 * 4096));
        Assert.Equal(-Errno.ENOMEM, k.Mm.Madvise(A + 4096, 4096, Madv.Normal)); // host: a hole is ENOMEM for any valid advice
        Assert.Equal(-Errno.EINVAL, k.Mm.Madvise(A, 4096, 5)); // host: 5, 6, 7 are not advice
        Assert.Equal(0, k.Mm.Madvise(A, 4096, Madv.DontNeed)); // PROT_NONE or not, a mapped page is fine
    }

    [Fact]
    public void MunmapOfAnEntirelyUnmappedRangeIsFine()
    {
        using var k = new KernelFixture();
        Assert.Equal(0, k.Mm.Munmap(0, 4096));                 // host: 0
        Assert.Equal(0, k.Mm.Munmap(0x7fffffffe000, 4096));   // host: 0, the last user page
        Assert.Equal(-Errno.EINVAL, k.Mm.Munmap(0x7fffffffe000, 8192)); // host: past TASK_SIZE
    }
}
