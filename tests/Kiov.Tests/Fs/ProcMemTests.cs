using Kiov.Fs;
using Kiov.Gup;
using Kiov.Mm;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Fs;

/// <summary>/proc/PID/mem (mem_rw → access_remote_vm with FOLL_FORCE) and Dirty COW by era.</summary>
public class ProcMemTests
{
    private const ulong Buf = A + 0x100000;

    // A memfd of one page of 'b', mapped at A with 'prot' and 'flags'; returns the fd.
    private static int MapFile(FsFixture k, byte b, int prot, int flags)
    {
        k.Map(Buf, 4096);
        k.Poke(Buf, Enumerable.Repeat(b, 4096).ToArray());
        int fd = (int)Syscalls.MemfdCreate(k.P, "kiov", 0);
        Assert.Equal(4096L, Syscalls.Pwrite(k.P, fd, Buf, 4096, 0));
        Assert.Equal((long)A, Syscalls.Mmap(k.P, A, 4096, prot, flags | MapFlags.Fixed, fd, 0));
        return fd;
    }

    private static byte FileByte(FsFixture k, int fd)
    {
        Assert.Equal(1L, Syscalls.Pread(k.P, fd, Buf, 1, 0));
        return k.Peek(Buf, 1)[0];
    }

    [Fact]
    public void AForcedWriteIntoAReadOnlyPrivateFileMappingBreaksCowAndNeverReachesTheFile()
    {
        using var k = new FsFixture();
        int fd = MapFile(k, 1, Prot.Read, MapFlags.Private);
        Assert.Equal(1, k.Peek(A, 1)[0]);                               // the file's page, mapped read-only
        byte[] data = [9, 9, 9, 9];
        Assert.Equal(4L, Syscalls.ProcMemWrite(k.P, A, data));
        Assert.Equal(data, k.Peek(A, 4));
        Assert.Equal(1, FileByte(k, fd));
        Assert.True(k.P.Mm.IsAnonExclusive(A));
        Assert.Equal(0UL, k.P.Mm.ReadPte(A) & Pte.Write);               // still read-only for the process
    }

    [Fact]
    public void AForcedWriteIntoAReadOnlySharedMappingIsRefused()
    {
        using var k = new FsFixture();
        int fd = MapFile(k, 1, Prot.Read, MapFlags.Shared);
        Assert.Equal(-Errno.EIO, Syscalls.ProcMemWrite(k.P, A, new byte[4]));
        Assert.Equal(1, FileByte(k, fd));
        byte[] read = new byte[4];
        Assert.Equal(4L, Syscalls.ProcMemRead(k.P, A, read));
        Assert.Equal(1, read[0]);
    }

    [Fact]
    public void AForcedWriteIntoTheChildsReadOnlyCopyLeavesTheParentAlone()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        k.Poke(A, [1, 1, 1, 1]);
        Assert.Equal(0L, Syscalls.Mprotect(k.P, A, 4096, Prot.Read));
        using var c = k.Kernel.Fork(k.P)!;
        Assert.Equal(4L, Syscalls.ProcMemWrite(c, A, [7, 7, 7, 7]));
        byte[] child = new byte[4];
        Assert.Equal(4L, Syscalls.ProcMemRead(c, A, child));
        Assert.Equal([7, 7, 7, 7], child);
        Assert.Equal([1, 1, 1, 1], k.Peek(A, 4));
    }

    [Fact]
    public void ForcedAccessReachesProtNoneMemoryAndStopsAtAHole()
    {
        using var k = new FsFixture();
        Assert.Equal((long)A, Syscalls.Mmap(k.P, A, 4096, Prot.None, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
        Assert.Equal(4096L, Syscalls.ProcMemWrite(k.P, A, Enumerable.Repeat((byte)3, 8192).ToArray()));
        byte[] back = new byte[8192];
        Assert.Equal(4096L, Syscalls.ProcMemRead(k.P, A, back));
        Assert.Equal(3, back[4095]);
        Assert.Equal(-Errno.EIO, Syscalls.ProcMemRead(k.P, A + 4096, back));
        Assert.Equal(-Errno.EINVAL, Syscalls.ProcMemRead(k.P, 1UL << 63, back));
        Assert.Equal(0UL, k.P.Mm.ReadPte(A) & Pte.Present);            // still PROT_NONE to the process
    }

    /// <summary>Dirty COW (CVE-2016-5195) by a chosen schedule: a /proc/self/mem write into a read-only
    /// private file mapping, with madvise(DONTNEED) run right after the fault that broke COW. On 4.8
    /// the write lands in the file; FOLL_COW (4.9) and today's exclusive-anon rule close it. The current
    /// case fails if the rule is taken out of the current preset.</summary>
    [Theory]
    [InlineData("4.8", true)]
    [InlineData("4.10", false)]
    [InlineData("current", false)]
    public void DirtyCowWritesTheFileOnlyOn4_8(string preset, bool reachesFile)
    {
        using var k = new FsFixture(KernelConfig.Presets[preset]);
        int fd = MapFile(k, 1, Prot.Read, MapFlags.Private);
        Assert.Equal(1, k.Peek(A, 1)[0]);
        int zaps = 0;
        UserPages.AfterFaultHook = (mm, addr) =>
        {
            if (mm != k.P.Mm || zaps++ != 0) return;
            var t = new Thread(() => Assert.Equal(0L, Syscalls.Madvise(k.P, A, 4096, Madv.DontNeed)));
            t.Start();
            t.Join();
        };
        try { Assert.Equal(4L, Syscalls.ProcMemWrite(k.P, A, [6, 6, 6, 6])); }
        finally { UserPages.AfterFaultHook = null; }
        Assert.True(zaps > 0, "the schedule ran");
        Assert.Equal(reachesFile ? 6 : 1, FileByte(k, fd));
    }

    [Fact]
    public void DirtyCowIsOpenAgainIfTheForcedWriteRuleGoesBackTo4_8()
    {
        using var k = new FsFixture(KernelConfig.Current with { ForcedWrite = ForcedWriteRule.DropWrite });
        int fd = MapFile(k, 1, Prot.Read, MapFlags.Private);
        int zaps = 0;
        UserPages.AfterFaultHook = (mm, addr) =>
        {
            if (mm != k.P.Mm || zaps++ != 0) return;
            var t = new Thread(() => Syscalls.Madvise(k.P, A, 4096, Madv.DontNeed));
            t.Start();
            t.Join();
        };
        try { Assert.Equal(4L, Syscalls.ProcMemWrite(k.P, A, [6, 6, 6, 6])); }
        finally { UserPages.AfterFaultHook = null; }
        Assert.Equal(6, FileByte(k, fd));
    }

    [Fact]
    public void AnExitedTargetHasNoMemoryToAccess()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        var c = k.Kernel.Fork(k.P)!;
        c.Dispose();
        Assert.Equal(0L, Syscalls.ProcMemRead(c, A, new byte[4]));
    }
}
