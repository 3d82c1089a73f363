using Kiov.Memory;
using Kiov.Mm;

namespace Kiov.Tests.Support;

/// <summary>
/// A small machine per test: physical memory, the kernel half and one address space. Disposing it
/// tears the address space down and fails the test if any frame is still allocated (a leak).
/// </summary>
public class KernelFixture : IDisposable
{
    public const ulong Arena = 0x1000_0000_0000;
    public const int PageSize = PageGeometry.PageSize;

    public KernelFixture() : this(KernelConfig.Current) { }

    public KernelFixture(KernelConfig config, long memoryBytes = 32L << 20)
    {
        Memory = new PhysicalMemory(memoryBytes);
        Kernel = new KernelSpace(Memory, config);
        Mm = new AddressSpace(Kernel);
    }

    public PhysicalMemory Memory { get; }
    public KernelSpace Kernel { get; }
    public AddressSpace Mm { get; }

    /// <summary>Maps [addr, addr+len) private anonymous with <paramref name="prot"/>, asserting success.</summary>
    public ulong MapAnon(ulong addr, ulong len, int prot = Prot.Read | Prot.Write)
    {
        long r = Mm.Mmap(addr, len, prot, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed);
        Assert.Equal((long)addr, r);
        return addr;
    }

    /// <summary>Everything else the test owns must be released before this runs.</summary>
    public virtual void Dispose()
    {
        Mm.Dispose();
        var leaks = Memory.LeakReport();
        Memory.Dispose();
        Assert.True(leaks.Count == 0, "leaked frames:\n" + string.Join("\n", leaks.Take(20)));
        GC.SuppressFinalize(this);
    }
}
