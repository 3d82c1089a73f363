using Kiov.Fs;
using Kiov.Iov;
using Kiov.Mm;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Fs;

public class VmspliceProcessVmTests
{
    [Fact]
    public void VmspliceQueuesReferencesToTheUsersPages()
    {
        using var k = new FsFixture();
        k.Map(A, 4 * 4096);
        k.Poke(A, Enumerable.Repeat((byte)1, 4096).ToArray());
        var (r, w) = k.Pipe();
        Assert.Equal(4096L, Syscalls.Vmsplice(k.P, w, [new(A, 4096)], SpliceFlags.NonBlock));
        var buf = k.PipeOf(r).Buffers().Single();
        Assert.Equal(PipeBufferKind.UserPage, buf.Kind);
        Assert.Equal(2, k.Kernel.Memory.RefCount(buf.Page));  // the mapping's and the pipe's
        Assert.False(k.Kernel.Memory.MaybeDmaPinned(buf.Page)); // FOLL_GET, not a pin
        k.Poke(A, Enumerable.Repeat((byte)2, 4096).ToArray()); // a later write shows in the pipe
        Assert.Equal(4096L, Syscalls.Read(k.P, r, A + 4096, 4096));
        Assert.True(k.Peek(A + 4096, 4096).All(b => b == 2));
    }

    [Fact]
    public void VmsplicedPageOutlivesDontNeedAndMunmap()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        k.Poke(A, "vmsplice"u8);
        var (r, w) = k.Pipe();
        Assert.Equal(8L, Syscalls.Vmsplice(k.P, w, [new(A, 8)], 0));
        Assert.Equal(0L, Syscalls.Munmap(k.P, A, 4096));
        k.Map(A + 0x10000, 4096);
        Assert.Equal(8L, Syscalls.Read(k.P, r, A + 0x10000, 100));
        Assert.Equal("vmsplice"u8.ToArray(), k.Peek(A + 0x10000, 8));
    }

    [Fact]
    public void VmspliceErrnosAndTheReadEnd()
    {
        using var k = new FsFixture();
        k.Map(A, 0x20000);
        var (r, w) = k.Pipe();
        int memfd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(-Errno.EINVAL, Syscalls.Vmsplice(k.P, w, [new(A, 1)], 0x100));
        Assert.Equal(-Errno.EBADF, Syscalls.Vmsplice(k.P, 99, [new(A, 1)], 0));
        Assert.Equal(-Errno.EBADF, Syscalls.Vmsplice(k.P, memfd, [new(A, 1)], 0));
        Assert.Equal(0L, Syscalls.Vmsplice(k.P, w, [], 0));
        Assert.Equal(-Errno.EFAULT, Syscalls.Vmsplice(k.P, w, [new(A + 0x100000, 10)], 0));
        Assert.Equal(-Errno.EFAULT, Syscalls.Vmsplice(k.P, w, [new(Layout.DirectMapBase, 10)], 0));
        Assert.Equal(65536L, Syscalls.Vmsplice(k.P, w, [new(A, 0x20000)], SpliceFlags.NonBlock));
        Assert.Equal(-Errno.EAGAIN, Syscalls.Vmsplice(k.P, w, [new(A, 10)], SpliceFlags.NonBlock));
        Assert.Equal(0x10000L, Syscalls.Vmsplice(k.P, r, [new(A + 0x10000, 0x10000)], 0)); // the read end copies out
        Assert.Equal(0, k.PipeOf(r).Occupancy);
    }

    [Fact]
    public void ProcessVmPartialAtAHoleAndReadOnlyPages()
    {
        using var k = new FsFixture();
        k.Map(A, 3 * 4096);
        Assert.Equal(0L, Syscalls.Mprotect(k.P, A + 2 * 4096, 4096, Prot.Read));
        k.Poke(A, Enumerable.Range(0, 8192).Select(i => (byte)i).ToArray());
        // Write 3 pages' worth into [A+100, ...): the read-only third page stops it at its boundary.
        Assert.Equal(2 * 4096L - 100, Syscalls.ProcessVmWritev(k.P, k.P, [new(A, 3 * 4096)], [new(A + 100, 3 * 4096)], 0));
        // Reading may go through the read-only page, and stops at the hole after it...
        k.Map(A + 0x10000, 3 * 4096);
        Assert.Equal(3 * 4096L - 50, Syscalls.ProcessVmReadv(k.P, k.P, [new(A + 0x10000, 3 * 4096)], [new(A + 50, 3 * 4096)], 0));
        // ...but a local destination that is read-only stops the copy at its first byte.
        Assert.Equal(2 * 4096L, Syscalls.ProcessVmReadv(k.P, k.P, [new(A, 3 * 4096)], [new(A + 50, 3 * 4096)], 0));
        Assert.Equal(-Errno.EFAULT, Syscalls.ProcessVmReadv(k.P, k.P, [new(A, 10)], [new(A + 0x100000, 10)], 0));
        Assert.Equal(-Errno.EFAULT, Syscalls.ProcessVmReadv(k.P, k.P, [new(A, 10)], [new(Layout.DirectMapBase, 10)], 0));
        Assert.Equal(-Errno.EINVAL, Syscalls.ProcessVmReadv(k.P, k.P, [new(A, 10)], [new(A, ulong.MaxValue)], 0));
        Assert.Equal(-Errno.EINVAL, Syscalls.ProcessVmReadv(k.P, k.P, [new(A, 10)], [new(A, 10)], 1));
        Assert.Equal(0L, Syscalls.ProcessVmReadv(k.P, k.P, [], [new(A + 0x100000, 10)], 0));
        Assert.Equal(0L, Syscalls.ProcessVmReadv(k.P, k.P, [new(A, 10)], [], 0));
        Assert.Equal(-Errno.EFAULT, Syscalls.ProcessVmReadv(k.P, k.P, [new(A, 10), new(Layout.DirectMapBase, 1)], [new(A, 10)], 0));
        Assert.Equal(0L, k.Kernel.Space.Counters.PinsAcquired - k.Kernel.Space.Counters.PinsReleased);
    }

    [Fact]
    public void ProcessVmBetweenTwoProcesses()
    {
        using var k = new FsFixture();
        var other = k.Kernel.CreateProcess();
        k.Map(A, 4096);
        Assert.Equal((long)A, Syscalls.Mmap(other, A, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed, -1, 0));
        k.Poke(A, "from one"u8);
        Assert.Equal(8L, Syscalls.ProcessVmWritev(k.P, other, [new(A, 8)], [new(A + 8, 8)], 0));
        Assert.Equal(16L, Syscalls.ProcessVmReadv(k.P, other, [new(A + 100, 16)], [new(A, 16)], 0));
        Assert.Equal("\0\0\0\0\0\0\0\0from one"u8.ToArray(), k.Peek(A + 100, 16));
        other.Dispose();
    }
}
