namespace Kiov;

/// <summary>
/// The behaviours that changed between the seed thread's kernel (Linux 4.10, 2017) and the
/// running kernel, in one place with named presets. Every switch defaults to the current kernel;
/// an old behaviour is only ever reached through a preset or an explicit <c>with</c>.
/// </summary>
public sealed partial record KernelConfig
{
    /// <summary>A short name for the preset, shown by the tools.</summary>
    public string Name { get; init; } = "current";

    /// <summary>
    /// The x86-64 <c>access_ok()</c> limit under USER_DS: a range passes when it does not wrap and
    /// ends at or below this address. Since Oct 2024 this is the boot-time <c>USER_PTR_MAX</c>,
    /// which equals TASK_SIZE_MAX (0x7ffffffff000) on machines without LAM.
    /// </summary>
    public ulong UserPtrMax { get; init; } = Mm.Layout.TaskSizeMax;

    /// <summary>
    /// True where <c>set_fs(KERNEL_DS)</c> exists (before 5.10): <c>kernel_read</c>/<c>kernel_write</c>
    /// then call a file's plain <c>->read</c>/<c>->write</c> with a kernel pointer, and <c>access_ok()</c>
    /// passes every address for the duration.
    /// </summary>
    public bool SetFsKernelDs { get; init; }

    /// <summary>The architecture whose page-table layout and GUP-fast the model follows (x86-64 by default).</summary>
    public Architecture Arch { get; init; } = Architecture.X86_64;

    /// <summary>
    /// The entry checks of <c>get_user_pages_fast</c> (see <see cref="Kiov.GupFastEntry"/>): since 6.4
    /// -EOVERFLOW for a wrapping range and -EFAULT for an end above TASK_SIZE_MAX (6014bc27561f).
    /// </summary>
    public GupFastEntry GupFastEntry { get; init; } = GupFastEntry.TaskSizeMax;

    /// <summary>
    /// True where the GUP-fast walk refuses entries without the user bit: every x86-64 (v4.10
    /// arch/x86/mm/gup.c <c>pte_allows_gup</c>, later <c>pte_access_permitted</c>). False for the
    /// 2017 generic walk (mm/gup.c <c>gup_pte_range</c>, <c>gup_huge_pmd</c>), which took any present
    /// entry, supervisor-only ones included.
    /// </summary>
    public bool GupFastChecksUserBit { get; init; } = true;

    /// <summary>True since 5.6 (John Hubbard's "mm/gup: introduce pin_user_pages*() and FOLL_PIN"): <c>pin_user_pages*</c> exist.
    /// Before, there were only references (FOLL_GET), and a pin entry on such a preset is a bug in the caller.</summary>
    public bool HasFollPin { get; init; } = true;

    /// <summary>
    /// True since <c>is_valid_gup_args</c> (mm/gup.c, Jason Gunthorpe, 6.3; read in the newest stored mm/gup.c): <c>pin_user_pages</c>,
    /// <c>pin_user_pages_unlocked</c> and <c>pin_user_pages_remote</c> return 0 for invalid arguments
    /// where every other entry returns -EINVAL. False for 5.6–6.2, whose pin entries returned -EINVAL
    /// (<c>WARN_ON_ONCE(gup_flags &amp; FOLL_GET)</c>).
    /// </summary>
    public bool PinInvalidArgsReturnZero { get; init; } = true;

    /// <summary>True since 6.2 (FOLL_PCI_P2PDMA): <c>is_valid_gup_args</c> refuses FOLL_LONGTERM with FOLL_PCI_P2PDMA.</summary>
    public bool RefusesLongTermP2pDma { get; init; } = true;

    /// <summary>True where the kernel half of the address space lives in every process's table
    /// (x86-64, 32-bit ARM); false for a separate kernel root (arm64's TTBR1).</summary>
    public bool KernelSharesUserRoot => Arch != Architecture.Arm64;

    /// <summary>True since 5.10 (4d03e3cc5982): <c>kernel_read</c>/<c>kernel_write</c> need
    /// <c>->read_iter</c>/<c>->write_iter</c> and give -EINVAL otherwise.</summary>
    public bool KernelRwRequiresIterOps { get; init; } = true;

    /// <summary>True before 6.0: the non-advancing <c>iov_iter_get_pages{,_alloc}</c> are available.</summary>
    public bool NonAdvancingGetPages { get; init; }

    /// <summary>True between 4.9 and 6.4: splice from a file fills the pipe through an ITER_PIPE iterator.</summary>
    public bool IterPipe { get; init; }

    /// <summary>True before 6.5: the slow GUP path grows a VM_GROWSDOWN stack (<c>find_extend_vma</c>).</summary>
    public bool GupGrowsStack { get; init; }

    /// <summary>Model-only, no kernel has it: vmsplice queues the user's pages through Al Viro's proposed
    /// batch primitive (<see cref="Iov.IovIter.ForEachPageBatch{TConsumer}"/>) instead of its loop over
    /// <c>iov_iter_get_pages2</c>, with the same results; off by default.</summary>
    public bool VmspliceBatchPrimitive { get; init; }

    /// <summary>The running kernel (6.18 on the reference machine).</summary>
    public static KernelConfig Current { get; } = new();

    /// <summary>Linux 4.10 on x86-64, the seed thread's kernel (Feb 2017): set_fs, ITER_PIPE,
    /// non-advancing get_pages, no FOLL_PIN, and arch/x86/mm/gup.c's own fast path, which sends an end
    /// above 2^47 to the slow path and requires the user bit: safe against kernel addresses.</summary>
    public static KernelConfig Linux2017 { get; } = new()
    {
        Name = "4.10",
        SetFsKernelDs = true,
        GupFastEntry = GupFastEntry.X86OwnWalk,
        KernelRwRequiresIterOps = false,
        NonAdvancingGetPages = true,
        IterPipe = true,
        GupGrowsStack = true,
        HasFollPin = false,
        PinInvalidArgsReturnZero = false,
        RefusesLongTermP2pDma = false,
        AnonReuse = AnonReuseRule.MapCount, ForcedWrite = ForcedWriteRule.FollCow, ForkCopiesPinned = false,
    };

    /// <summary>Linux 4.10 on an arm64-like generic-GUP architecture with a separate kernel root:
    /// <c>__get_user_pages_fast</c> trusts <c>access_ok</c> (void under KERNEL_DS) and walks the user's
    /// tables, where a kernel address lands on an aliased user slot.</summary>
    public static KernelConfig Linux2017Arm64 { get; } = Linux2017 with
    {
        Name = "4.10-arm64",
        Arch = Architecture.Arm64,
        GupFastEntry = GupFastEntry.AccessOkThenSlowPath,
        GupFastChecksUserBit = false,
    };

    /// <summary>Linux 4.10 on 32-bit ARM with LPAE: generic GUP over a table the kernel shares, no
    /// range or user-bit check: under KERNEL_DS the fast walk takes references on kernel lowmem.</summary>
    public static KernelConfig Linux2017ArmLpae { get; } = Linux2017Arm64 with
    {
        Name = "4.10-arm-lpae",
        Arch = Architecture.ArmLpae,
    };

    /// <summary>Linux 4.15 on x86-64 (late 2017): the generic fast path (x86 moved to it in 4.13) with
    /// 5b65c4677a57's <c>access_ok</c> in <c>get_user_pages_fast</c>, which returns 0 when it fails,
    /// x86's <c>gup_fast_permitted</c> (a wrap or an end above 2^47 goes to the slow path), and
    /// <c>pte_access_permitted</c>'s user bit; set_fs still exists.</summary>
    public static KernelConfig Linux2017Fixed { get; } = Linux2017 with
    {
        Name = "4.15",
        GupFastEntry = GupFastEntry.AccessOkReturnsZero,
    };

    /// <summary>Linux 5.10 (2020): set_fs gone, kernel_read/kernel_write need iter ops, FOLL_PIN
    /// exists, GUP-fast gives 0 for an empty or wrapping range and -EFAULT when access_ok fails.</summary>
    public static KernelConfig Linux5_10 { get; } = Linux2017Fixed with
    {
        Name = "5.10",
        SetFsKernelDs = false,
        KernelRwRequiresIterOps = true,
        GupFastEntry = GupFastEntry.AccessOkEfault,
        HasFollPin = true,
        AnonReuse = AnonReuseRule.RefCount, ForkCopiesPinned = true,
    };

    /// <summary>Every preset by name, for the command line.</summary>
    public static IReadOnlyDictionary<string, KernelConfig> Presets { get; } = new Dictionary<string, KernelConfig>
    {
        ["current"] = Current, ["4.10"] = Linux2017, ["4.10-arm64"] = Linux2017Arm64, ["4.10-arm-lpae"] = Linux2017ArmLpae,
        ["4.15"] = Linux2017Fixed, ["5.10"] = Linux5_10,
        ["4.8"] = Linux4_8, ["5.7"] = Linux5_7, ["5.18"] = Linux5_18,
    };

    /// <summary>The host's settings that decide results beside the kernel's code (sysctls, limits,
    /// privileges; docs/trace-format.md "Host settings"). The defaults are a fresh boot's for an unprivileged
    /// user; the trace back ends take what the host shows (<c>Trace.HostSettings</c>).</summary>
    public HostLimits Limits { get; init; } = new();
}
