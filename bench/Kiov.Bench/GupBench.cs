using BenchmarkDotNet.Attributes;
using Kiov.Gup;
using Kiov.Memory;
using Kiov.Mm;

namespace Kiov.Bench;

/// <summary>
/// pin_user_pages_fast + unpin_user_pages over 1024 populated pages, in calls of <see cref="PagesPerCall"/>
/// pages, and the slow path doing the same (pin_user_pages under the caller's mmap read lock, and
/// pin_user_pages_unlocked). Each invocation covers all 1024 pages, so the reported time is per page.
/// The kernel's figures: ~41 ns/page fast pin (2017), 62 ns pin + 15 ns unpin (2025, longterm).
/// </summary>
[MemoryDiagnoser]
public class GupBench
{
    private const int Pages = 1024;
    private const ulong Base = 0x1000_0000_0000;
    private PhysicalMemory _memory = null!;
    private KernelSpace _kernel = null!;
    private AddressSpace _mm = null!;
    private Page[] _pages = null!;

    /// <summary>Pages per GUP call.</summary>
    [Params(1, 16, 1024)]
    public int PagesPerCall { get; set; }

    /// <summary>Maps and populates the 1024 pages.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _memory = new PhysicalMemory(64L << 20);
        _kernel = new KernelSpace(_memory);
        _mm = new AddressSpace(_kernel);
        long r = _mm.Mmap(Base, Pages * PageGeometry.PageSize, Prot.Read | Prot.Write,
            MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate);
        if (r != (long)Base) throw new InvalidOperationException($"mmap: {r}");
        _pages = new Page[PagesPerCall];
    }

    /// <summary>Releases the address space and memory.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _mm.Dispose();
        _memory.Dispose();
    }

    /// <summary>PinUserPagesFast then UnpinUserPages, per page.</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public int PinFastUnpin()
    {
        int total = 0;
        for (int first = 0; first < Pages; first += PagesPerCall)
        {
            int n = UserPages.PinUserPagesFast(_mm, Base + ((ulong)first << PageGeometry.PageShift), PagesPerCall, Foll.Write, _pages);
            UserPages.UnpinUserPages(_kernel, _pages.AsSpan(0, n));
            total += n;
        }
        return total;
    }

    /// <summary>GetUserPagesFast then put_page, per page.</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public int GetFastPut()
    {
        int total = 0;
        for (int first = 0; first < Pages; first += PagesPerCall)
        {
            int n = UserPages.GetUserPagesFast(_mm, Base + ((ulong)first << PageGeometry.PageShift), PagesPerCall, Foll.Write, _pages);
            UserPages.PutPages(_memory, _pages.AsSpan(0, n));
            total += n;
        }
        return total;
    }

    /// <summary>The slow path: PinUserPages under the mmap read lock, then UnpinUserPages, per page.</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public long PinLockedUnpin()
    {
        long total = 0;
        for (int first = 0; first < Pages; first += PagesPerCall)
        {
            long n;
            _mm.MmapLock.ReadLock();
            try { n = UserPages.PinUserPages(_mm, Base + ((ulong)first << PageGeometry.PageShift), PagesPerCall, Foll.Write, _pages); }
            finally { _mm.MmapLock.ReadUnlock(); }
            UserPages.UnpinUserPages(_kernel, _pages.AsSpan(0, (int)n));
            total += n;
        }
        return total;
    }

    /// <summary>The slow path taking the lock itself: PinUserPagesUnlocked then UnpinUserPages, per page.</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public long PinUnlockedUnpin()
    {
        long total = 0;
        for (int first = 0; first < Pages; first += PagesPerCall)
        {
            long n = UserPages.PinUserPagesUnlocked(_mm, Base + ((ulong)first << PageGeometry.PageShift), PagesPerCall, Foll.Write, _pages);
            UserPages.UnpinUserPages(_kernel, _pages.AsSpan(0, (int)n));
            total += n;
        }
        return total;
    }
}
