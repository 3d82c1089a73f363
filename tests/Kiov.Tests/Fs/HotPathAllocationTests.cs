using Kiov.Fs;
using Kiov.Iov;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Fs;

[Collection(Kiov.Tests.Support.AllocationCollection.Name)]
public class HotPathAllocationTests
{
    [Fact]
    public void PipeMemfdAndVmspliceVectorIoAllocateNothingOnceWarm()
    {
        using var k = new FsFixture();
        k.Map(A, 0x40000);
        var (r, w) = k.Pipe();
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        IoVec[] src = [new(A, 4096), new(A + 4096, 60000)], dst = [new(A + 0x20000, 65536)];
        long Round() =>
            Syscalls.Writev(k.P, w, src) + Syscalls.Readv(k.P, r, dst) +
            Syscalls.Pwritev(k.P, fd, src, 0) + Syscalls.Preadv(k.P, fd, dst, 0) +
            Syscalls.Vmsplice(k.P, w, src, 0) + Syscalls.Readv(k.P, r, dst);
        Assert.Equal(6 * 64096L, Round());
        // The least of three batches: a batch that meets a garbage collection may find ArrayPool's
        // per-thread cache trimmed and rent a fresh array once; a path that allocates does so every time.
        long allocated = long.MaxValue, moved = 0;
        for (int batch = 0; batch < 3; batch++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) moved += Round();
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(60 * 6 * 64096L, moved);
        Assert.Equal(0L, allocated);
    }
}
