using System.Runtime.InteropServices;
using Kiov.Fs;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;

namespace Kiov.Tests.Memory;

/// <summary>Issue 16: physical memory sized to the work (frames committed as first handed out)
/// and physical memory over memory the caller owns.</summary>
public class LazyPhysicalMemoryTests
{
    private static long ResidentBytes()
    {
        string statm = File.ReadAllText("/proc/self/statm");
        return long.Parse(statm.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) * PageGeometry.PageSize;
    }

    [Fact]
    public void A_64_GiB_machine_costs_only_the_frames_it_hands_out()
    {
        long before = ResidentBytes();
        using var kernel = new Kernel(memoryBytes: 64L << 30);
        Assert.Equal(16 << 20, kernel.Memory.FrameCount);
        Assert.Equal(64L << 30, kernel.Memory.Size);
        int touched = kernel.Memory.FramesTouched;
        Assert.InRange(touched, 2, 200); // frame 0, the zero page, the kernel's page tables
        Assert.Equal(kernel.Memory.FrameCount - touched, kernel.Memory.FreeFrames);
        var pages = Enumerable.Range(0, 1000).Select(_ => kernel.Memory.Alloc(PageOwner.KernelBuffer)).ToList();
        Assert.Equal(touched + 1000, kernel.Memory.FramesTouched);
        Assert.True(ResidentBytes() - before < (256L << 20), $"{(ResidentBytes() - before) >> 20} MiB resident for 1000 frames");
        foreach (Page p in pages) kernel.Memory.Put(p);
        // Freed frames are reused first: the frontier stays where it was.
        Page again = kernel.Memory.Alloc(PageOwner.KernelBuffer);
        Assert.Equal(pages[^1], again);
        Assert.Equal(touched + 1000, kernel.Memory.FramesTouched);
        kernel.Memory.Put(again);
        Assert.Empty(kernel.Memory.LeakReport());
    }

    [Fact]
    public void Frames_never_handed_out_are_free_and_unreachable_through_the_direct_map()
    {
        using var mem = new PhysicalMemory(64L << 20);
        Page far = new(mem.FrameCount - 1);
        Assert.Equal(PageFlags.Free, mem.Flags(far));
        Assert.Equal(0, mem.RefCount(far));
        Assert.False(mem.TryGetUnlessZero(far));
        Assert.True(mem.TryDirectMapToPage(PhysicalMemory.KernelAddress(far), out Page back) && back == far);
        var e = Assert.Throws<KiovBugException>(() => mem.Span(far));
        Assert.Contains("use after free", e.Message);
    }

    [Fact]
    public void Running_out_is_counted_and_a_contiguous_run_may_reach_past_the_frontier()
    {
        using var mem = new PhysicalMemory(64 * PageGeometry.PageSize);
        Page a = mem.Alloc(PageOwner.KernelBuffer), b = mem.Alloc(PageOwner.KernelBuffer);
        mem.Put(b); // a free frame just below the frontier starts the run
        Page run = mem.AllocContiguous(10, PageOwner.KernelBuffer);
        Assert.Equal(b, run);
        Assert.Equal(b.Pfn + 10, mem.FramesTouched);
        Assert.Equal(0, mem.AllocFailures);
        Assert.True(mem.AllocContiguous(60, PageOwner.KernelBuffer).IsNull);
        Assert.Equal(1, mem.AllocFailures);
        var rest = new List<Page>();
        for (Page p; !(p = mem.Alloc(PageOwner.KernelBuffer)).IsNull;) rest.Add(p);
        Assert.Equal(64 - 1 - 1 - 10, rest.Count);
        Assert.Equal(2, mem.AllocFailures);
        foreach (Page p in rest) mem.Put(p);
        for (int i = 0; i < 10; i++) mem.Put(run.Nth(i));
        mem.Put(a);
        Assert.Empty(mem.LeakReport());
        Assert.Equal(63, mem.FreeFrames);
    }

    [Fact]
    public unsafe void Physical_memory_over_caller_memory_uses_it_and_leaves_it_to_the_caller()
    {
        const int pages = 2048; // 8 MiB
        byte* ram = (byte*)NativeMemory.AlignedAlloc(pages * PageGeometry.PageSize, PageGeometry.PageSize);
        try
        {
            new Span<byte>(ram, PageGeometry.PageSize * 4).Fill(0xEE);
            using (var mem = PhysicalMemory.OverCallerMemory(ram, (long)pages * PageGeometry.PageSize))
            {
                Assert.Equal(pages, mem.FrameCount);
                var kernel = new KernelSpace(mem);
                var mm = new AddressSpace(kernel);
                Assert.Equal((long)KernelFixture.Arena, mm.Mmap(KernelFixture.Arena, 4 * PageGeometry.PageSize,
                    Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed));
                byte[] hello = "hello, guest"u8.ToArray();
                Assert.Equal(0UL, Kiov.Uaccess.UserAccess.CopyToUser(mm, KernelFixture.Arena + 100, hello));
                Span<Page> got = stackalloc Page[1];
                Assert.Equal(1, Kiov.Gup.UserPages.GetUserPagesFast(mm, KernelFixture.Arena, 1, Kiov.Gup.Foll.None, got));
                Page page = got[0];
                // The page is the caller's memory, at its frame number, and the direct map reaches it.
                Assert.Equal("hello, guest", System.Text.Encoding.ASCII.GetString(new ReadOnlySpan<byte>(ram + ((long)page.Pfn << PageGeometry.PageShift) + 100, hello.Length)));
                Assert.True(kernel.TryTranslate(PhysicalMemory.KernelAddress(page) + 100, out byte* p, out _) && p == ram + ((long)page.Pfn << PageGeometry.PageShift) + 100);
                mem.Put(page);
                mm.Dispose();
                Assert.Empty(mem.LeakReport());
            }
            // Not freed by Kiov: still ours to write (and free).
            ram[pages * PageGeometry.PageSize - 1] = 1;
        }
        finally
        {
            NativeMemory.AlignedFree(ram);
        }
    }

    [Fact]
    public unsafe void Caller_memory_must_be_page_aligned_whole_pages()
    {
        byte* ram = (byte*)NativeMemory.AlignedAlloc(64 * 4096, 4096);
        try
        {
            Assert.Throws<ArgumentException>(() => PhysicalMemory.OverCallerMemory(ram + 8, 32 * 4096));
            Assert.Throws<ArgumentException>(() => PhysicalMemory.OverCallerMemory(ram, 32 * 4096 + 100));
            Assert.Throws<ArgumentOutOfRangeException>(() => PhysicalMemory.OverCallerMemory(ram, 4 * 4096));
        }
        finally
        {
            NativeMemory.AlignedFree(ram);
        }
    }
}
