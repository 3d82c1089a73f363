using Kiov.Memory;

namespace Kiov.Mm;

/// <summary>
/// The x86-64 virtual address layout with 4-level paging (Documentation/arch/x86/x86_64/mm.rst).
/// </summary>
public static class Layout
{
    /// <summary><c>TASK_SIZE_MAX</c>: the end of user space, one guard page below 2^47.</summary>
    public const ulong TaskSizeMax = (1UL << 47) - PageGeometry.PageSize;

    /// <summary><c>TASK_SIZE</c> of a 64-bit task (the same as <see cref="TaskSizeMax"/>).</summary>
    public const ulong TaskSize = TaskSizeMax;

    /// <summary><c>mmap_min_addr</c> (the distributions' default, 64 KiB): nothing is mapped below it.</summary>
    public const ulong MmapMinAddr = 0x10000;

    /// <summary><c>mm->mmap_base</c> for the model's tasks: non-fixed mappings are placed top-down below it.</summary>
    public const ulong MmapBase = 0x7f00_0000_0000;

    /// <summary><c>PAGE_OFFSET</c>: the kernel's direct map of physical memory.</summary>
    public const ulong DirectMapBase = PhysicalMemory.DirectMapBase;

    /// <summary><c>VMALLOC_START</c>: kernel mappings of separately allocated pages (<c>vmap</c>).</summary>
    public const ulong VmallocStart = 0xffff_c900_0000_0000;

    /// <summary>The size of the model's vmalloc area (the kernel's is 32 TiB; 1 GiB is ample here).</summary>
    public const ulong VmallocSize = 1UL << 30;

    /// <summary><c>sysctl_max_map_count</c>: the most VMAs one address space may hold.</summary>
    public const int MaxMapCount = 65530;

    /// <summary><c>stack_guard_gap</c>: the gap kept below a grows-down stack (256 pages).</summary>
    public const ulong StackGuardGap = 256UL << PageGeometry.PageShift;

    /// <summary><c>RLIMIT_STACK</c> (the usual 8 MiB soft limit): a grows-down area may not grow past it.</summary>
    public const ulong StackRlimit = 8UL << 20;

    /// <summary>True for a canonical user-half address below TASK_SIZE_MAX.</summary>
    public static bool IsUser(ulong addr) => addr < TaskSizeMax;
}
