using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;

namespace Kiov.Tests.Mm;

public class TruncateRaceTests
{
    /// <summary>A one-page file that is truncated to nothing in the window between a fault's size
    /// check and the fault installing the page, which is where the kernel's folio lock matters.</summary>
    private sealed class TruncatedMidFault(PhysicalMemory memory) : IMappableFile
    {
        private bool _truncated;
        public PageCache Cache { get; } = new(memory);
        public int Faults;
        public string Name => "truncated-mid-fault";
        public bool OpenForRead => true;
        public bool OpenForWrite => true;
        public bool HasMmap => true;
        public VmFlags MmapFlags => VmFlags.None;
        public Page Fault(long index)
        {
            Faults++;
            if (_truncated || index != 0) return Page.Null;  // past the end: SIGBUS
            Page page = Cache.FindOrCreate(0);               // the size check passed...
            _truncated = true;                               // ...then truncation runs: the size
            Cache.RemoveFrom(0);                             // shrinks, the page leaves the cache,
            return page;                                     // and its unmap finds nothing mapped yet
        }
        public bool IsCurrent(long index, Page page) => Cache.Find(index) == page;
        public void OnMap(AddressSpace mm, Vma vma) { }
        public void OnUnmap(AddressSpace mm, Vma vma) { }
    }

    [Theory]
    [InlineData(MapFlags.Shared, false)]
    [InlineData(MapFlags.Shared, true)]
    [InlineData(MapFlags.Private, true)]
    public void AFaultThatRacedTruncationTakesThePageBackOut(int type, bool write)
    {
        using var k = new KernelFixture();
        var file = new TruncatedMidFault(k.Memory);
        const ulong A = KernelFixture.Arena;
        Assert.Equal((long)A, k.Mm.Mmap(A, 4096, Prot.Read | Prot.Write, type | MapFlags.Fixed, file, 0));
        ulong left = write ? UserAccess.CopyToUser(k.Mm, A, new byte[8]) : UserAccess.CopyFromUser(k.Mm, new byte[8], A);
        Assert.Equal(8UL, left);        // SIGBUS, as after a truncation: not the dropped page
        Assert.Equal(2, file.Faults);   // the fault ran again after taking the stale page back out
        Assert.Equal(0UL, k.Mm.ReadPte(A));
    }
}
