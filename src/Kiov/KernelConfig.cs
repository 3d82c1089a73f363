namespace Kiov;

/// <summary>
/// The behaviours that changed between the seed thread's kernel (Linux 4.10, 2017) and the
/// running kernel, in one place with named presets. Every switch defaults to the current kernel;
/// an old behaviour is only ever reached through a preset or an explicit <c>with</c>.
/// </summary>
public sealed record KernelConfig
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

    /// <summary>
    /// True for the running kernel: GUP-fast refuses a range that ends above TASK_SIZE_MAX (-EFAULT)
    /// or overflows (-EOVERFLOW) before it walks (6014bc27561f). False reproduces the 2017 generic
    /// fast path, which trusted <c>access_ok()</c> alone.
    /// </summary>
    public bool GupFastChecksKernelAddress { get; init; } = true;

    /// <summary>
    /// True for the running kernel: the GUP-fast walk refuses entries without the user bit
    /// (x86's <c>pte_access_permitted</c>). False reproduces the 2017 generic walk, which took any
    /// present entry, supervisor-only ones included.
    /// </summary>
    public bool GupFastChecksUserBit { get; init; } = true;

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

    /// <summary>Linux 4.10, the seed thread's kernel (Feb 2017): set_fs, a fast GUP with no
    /// kernel-address check of its own, ITER_PIPE, non-advancing get_pages.</summary>
    public static KernelConfig Linux2017 { get; } = new()
    {
        Name = "4.10",
        SetFsKernelDs = true,
        GupFastChecksKernelAddress = false,
        GupFastChecksUserBit = false,
        KernelRwRequiresIterOps = false,
        NonAdvancingGetPages = true,
        IterPipe = true,
        GupGrowsStack = true,
    };

    /// <summary>Linux 4.15 (late 2017): GUP-fast does its own <c>access_ok()</c> and x86's
    /// VA-limit check (5b65c4677a57), and the walk honours the user bit; set_fs still exists.</summary>
    public static KernelConfig Linux2017Fixed { get; } = Linux2017 with
    {
        Name = "4.15",
        GupFastChecksKernelAddress = true,
        GupFastChecksUserBit = true,
    };

    /// <summary>Linux 5.10 (2020): set_fs gone, kernel_read/kernel_write need iter ops.</summary>
    public static KernelConfig Linux5_10 { get; } = Linux2017Fixed with
    {
        Name = "5.10",
        SetFsKernelDs = false,
        KernelRwRequiresIterOps = true,
    };

    /// <summary>Every preset by name, for the command line.</summary>
    public static IReadOnlyDictionary<string, KernelConfig> Presets { get; } = new Dictionary<string, KernelConfig>
    {
        ["current"] = Current, ["4.10"] = Linux2017, ["4.15"] = Linux2017Fixed, ["5.10"] = Linux5_10,
    };

    /// <summary>The host's settings that decide results beside the kernel's code (sysctls, limits,
    /// privileges; TRACE.md "Host settings"). The defaults are a fresh boot's for an unprivileged
    /// user; the trace back ends take what the host shows (<c>Trace.HostSettings</c>).</summary>
    public HostLimits Limits { get; init; } = new();
}
