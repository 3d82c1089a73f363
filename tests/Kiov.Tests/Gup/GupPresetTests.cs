using Kiov.Gup;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Support;
using Kiov.Uaccess;
using static Kiov.Tests.Gup.GupTestHelpers;

namespace Kiov.Tests.Gup;

/// <summary>
/// get_user_pages_fast of each preset and architecture, each test naming the kernel source it follows.
/// Sources: v4.10 arch/x86/mm/gup.c (torvalds/linux, stored); 4.15's get_user_pages_fast as quoted in
/// the Apr 2018 "gup: return -EFAULT on access_ok failure" thread and in the stored 4.15–4.16 mm/gup.c;
/// the generic 2014–2017 mm/gup.c (Steve Capper's RCU fast GUP); the newest stored mm/gup.c.
/// </summary>
public class GupPresetTests
{
    private static Page KernelBuffer(KernelFixture k)
    {
        Page page = k.Memory.Alloc(PageOwner.KernelBuffer);
        k.Memory.Span(page).Fill(0x5e);
        return page;
    }

    private static long FastUnder(KernelFixture k, bool kernelDs, ulong addr, int n, Foll flags, Page[] pages, bool fastOnly = false)
    {
        using (kernelDs ? UserAccess.SetKernelDs(k.Kernel.Config) : default)
            return fastOnly ? UserPages.GetUserPagesFastOnly(k.Mm, addr, n, flags, pages) : UserPages.GetUserPagesFast(k.Mm, addr, n, flags, pages);
    }

    /// <summary>v4.10 arch/x86/mm/gup.c get_user_pages_fast: no access_ok; <c>end &gt;&gt; __VIRTUAL_MASK_SHIFT</c>
    /// sends a kernel range to the slow path, whose VMA lookup gives -EFAULT, with or without KERNEL_DS.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Linux410X86SendsAKernelRangeToTheSlowPath(bool kernelDs)
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        Page buffer = KernelBuffer(k);
        var pages = new Page[1];
        Assert.Equal(-Errno.EFAULT, FastUnder(k, kernelDs, PhysicalMemory.KernelAddress(buffer), 1, 0, pages));
        Assert.Equal(1, k.Kernel.Counters.SlowPathFallbacks);
        Assert.Equal(0, k.Kernel.Counters.KernelPagesPinnedByUserGup);
        Assert.Equal(1, k.Memory.RefCount(buffer));
        k.Memory.Put(buffer);
    }

    /// <summary>v4.10 arch/x86/mm/gup.c __get_user_pages_fast: access_ok, then a walk whose
    /// <c>pte_allows_gup</c> needs _PAGE_USER: under KERNEL_DS the direct map's supervisor leaf stops it: 0.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Linux410X86FastOnlyWalkRequiresTheUserBit(bool kernelDs)
    {
        using var k = new KernelFixture(KernelConfig.Linux2017);
        Page buffer = KernelBuffer(k);
        var pages = new Page[1];
        Assert.Equal(0, FastUnder(k, kernelDs, PhysicalMemory.KernelAddress(buffer), 1, 0, pages, fastOnly: true));
        Assert.Equal(0, k.Kernel.Counters.KernelPagesPinnedByUserGup);
        MapFilled(k, 2);
        Assert.Equal(2, FastUnder(k, kernelDs, A, 2, Foll.Write, pages = new Page[2], fastOnly: true));
        Put(k, pages, 2);
        k.Memory.Put(buffer);
    }

    /// <summary>4.15 get_user_pages_fast (5b65c4677a57): <c>if (!access_ok(...)) return 0;</c>: a kernel
    /// address under USER_DS gives 0, the value vhost took for success, with no slow-path attempt.</summary>
    [Fact]
    public void Linux415ReturnsZeroWhenAccessOkFails()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017Fixed);
        Page buffer = KernelBuffer(k);
        var pages = new Page[1];
        Assert.Equal(0, FastUnder(k, false, PhysicalMemory.KernelAddress(buffer), 1, 0, pages));
        Assert.Equal(0, k.Kernel.Counters.SlowPathFallbacks);
        k.Memory.Put(buffer);
    }

    /// <summary>4.15 with x86's gup_fast_permitted: under KERNEL_DS access_ok passes, the VA-limit
    /// check fails, and the slow path refuses the range (-EFAULT): no walk of the kernel's tables.</summary>
    [Fact]
    public void Linux415FallsBackToTheSlowPathWhenGupFastPermittedFails()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017Fixed);
        Page buffer = KernelBuffer(k);
        var pages = new Page[1];
        Assert.Equal(-Errno.EFAULT, FastUnder(k, true, PhysicalMemory.KernelAddress(buffer), 1, 0, pages));
        Assert.Equal(1, k.Kernel.Counters.SlowPathFallbacks);
        Assert.Equal(0, k.Kernel.Counters.KernelPagesPinnedByUserGup);
        k.Memory.Put(buffer);
    }

    /// <summary>A range that wraps: 0 from 4.15 (access_ok fails) and from 5.10 (<c>if (end &lt;= start)
    /// return 0;</c>), -EOVERFLOW only since 6.4 (9883c7f84053).</summary>
    [Theory]
    [InlineData("4.15", 0)]
    [InlineData("5.10", 0)]
    [InlineData("current", -Errno.EOVERFLOW)]
    public void AWrappingRangeIsEoverflowOnlySince64(string preset, long expected)
    {
        using var k = new KernelFixture(KernelConfig.Presets[preset]);
        var pages = new Page[4];
        Assert.Equal(expected, FastUnder(k, false, ulong.MaxValue - P + 1, 2, 0, pages));
    }

    /// <summary>4.17–6.3 (c61611f70958, 5.10 internal_get_user_pages_fast): access_ok fails → -EFAULT,
    /// with no slow-path attempt; the running kernel's TASK_SIZE_MAX test gives the same.</summary>
    [Theory]
    [InlineData("5.10")]
    [InlineData("current")]
    public void AKernelAddressIsEfaultFrom417On(string preset)
    {
        using var k = new KernelFixture(KernelConfig.Presets[preset]);
        Page buffer = KernelBuffer(k);
        var pages = new Page[1];
        Assert.Equal(-Errno.EFAULT, FastUnder(k, false, PhysicalMemory.KernelAddress(buffer), 1, 0, pages));
        Assert.Equal(0, k.Kernel.Counters.SlowPathFallbacks);
        k.Memory.Put(buffer);
    }

    /// <summary>Generic 4.10 mm/gup.c on arm64 (separate kernel root): under KERNEL_DS access_ok passes,
    /// and <c>pgd_offset(current-&gt;mm, kaddr)</c> keeps only the index bits: the walk lands on whatever
    /// USER page sits at the aliased address, and hands that page out for the kernel buffer.</summary>
    [Fact]
    public void Linux410Arm64AKernelAddressAliasesAUserPage()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017Arm64);
        Page buffer = KernelBuffer(k);
        ulong kaddr = PhysicalMemory.KernelAddress(buffer);
        ulong alias = kaddr & ((1UL << 47) - 1);
        var pages = new Page[1];
        // Nothing mapped at the alias: the walk finds nothing, the slow path refuses (-EFAULT).
        Assert.Equal(-Errno.EFAULT, FastUnder(k, true, kaddr, 1, 0, pages));
        MapFilled(k, 1, 0x77, at: alias);
        Page user = Mapped(k, alias);
        Assert.Equal(1, FastUnder(k, true, kaddr, 1, 0, pages));
        Assert.Equal(user, pages[0]);                        // the user's page, not the kernel buffer
        Assert.Equal(0x77, k.Memory.Span(pages[0])[0]);
        Assert.Equal(0, k.Kernel.Counters.KernelPagesPinnedByUserGup);
        Put(k, pages, 1);
        // Under USER_DS access_ok fails, __get_user_pages_fast returns 0 and the slow path refuses.
        Assert.Equal(-Errno.EFAULT, FastUnder(k, false, kaddr, 1, 0, pages));
        k.Memory.Put(buffer);
    }

    /// <summary>Generic 4.10 mm/gup.c gup_huge_pmd on 32-bit ARM LPAE: the kernel's section entry is in
    /// the process's table and looks like a huge PMD; under KERNEL_DS the walk hands out the kernel page
    /// and puts the reference on the section's first page (page_cache_add_speculative(head, refs)).</summary>
    [Fact]
    public void Linux410ArmLpaeTakesAKernelPageWithTheReferenceOnTheSectionHead()
    {
        using var k = new KernelFixture(KernelConfig.Linux2017ArmLpae);
        Page buffer = KernelBuffer(k);
        Page head = new(buffer.Pfn & ~511);
        int headBefore = k.Memory.RefCount(head);
        var pages = new Page[1];
        Assert.Equal(1, FastUnder(k, true, PhysicalMemory.KernelAddress(buffer), 1, Foll.Write, pages));
        Assert.Equal(buffer, pages[0]);
        Assert.Equal(1, k.Kernel.Counters.KernelPagesPinnedByUserGup);
        Assert.Equal(1, k.Memory.RefCount(buffer));          // the page handed out got no reference
        Assert.Equal(headBefore + 1, k.Memory.RefCount(head));
        k.Memory.Put(head);                                   // undo by hand what put_page(pages[0]) would get wrong
        // Under USER_DS access_ok refuses, and the slow path's VMA lookup does too.
        Assert.Equal(-Errno.EFAULT, FastUnder(k, false, PhysicalMemory.KernelAddress(buffer), 1, 0, pages));
        k.Memory.Put(buffer);
    }

    /// <summary>5.10 get_user_pages_fast_only: "not allowed to return negative values", so the core's
    /// -EFAULT becomes 0; the newest mm/gup.c returns gup_fast_fallback's -EFAULT as it is.</summary>
    [Theory]
    [InlineData("5.10", 0)]
    [InlineData("current", -Errno.EFAULT)]
    public void FastOnlyOnAKernelAddress(string preset, long expected)
    {
        using var k = new KernelFixture(KernelConfig.Presets[preset]);
        Page buffer = KernelBuffer(k);
        var pages = new Page[1];
        Assert.Equal(expected, FastUnder(k, false, PhysicalMemory.KernelAddress(buffer), 1, 0, pages, fastOnly: true));
        k.Memory.Put(buffer);
    }

    /// <summary>The direct map follows the architecture: x86-64 and 32-bit ARM copy the kernel's entries
    /// into every process's table (pgd_alloc), arm64 keeps them in TTBR1's root only; copy_from_user
    /// under KERNEL_DS reaches the kernel buffer through whichever root the MMU would use.</summary>
    [Theory]
    [InlineData("4.10", true)]
    [InlineData("4.10-arm-lpae", true)]
    [InlineData("4.10-arm64", false)]
    public void TheKernelHalfIsInTheUserTableOnlyWhereTheArchitecturePutsIt(string preset, bool shared)
    {
        using var k = new KernelFixture(KernelConfig.Presets[preset]);
        Page buffer = KernelBuffer(k);
        ulong kaddr = PhysicalMemory.KernelAddress(buffer);
        Assert.Equal(shared, (k.Mm.ReadPte(kaddr) & Pte.Present) != 0);
        var read = new byte[16];
        using (UserAccess.SetKernelDs(k.Kernel.Config))
            Assert.Equal(0UL, UserAccess.CopyFromUser(k.Mm, read, kaddr));
        Assert.All(read, b => Assert.Equal(0x5e, b));
        k.Memory.Put(buffer);
    }
}
