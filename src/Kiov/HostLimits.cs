namespace Kiov;

/// <summary>What the host is set up with, as far as a result depends on it (docs/trace-format.md "Host settings").</summary>
public sealed record HostLimits
{
    /// <summary><c>/proc/sys/fs/pipe-max-size</c>: the most an unprivileged F_SETPIPE_SZ may grow a pipe to.</summary>
    public uint PipeMaxSize { get; init; } = 1 << 20;

    /// <summary><c>/proc/sys/fs/pipe-user-pages-soft</c>: past it, an unprivileged user's new pipes get 2 slots.</summary>
    public ulong PipeUserPagesSoft { get; init; } = 16384;

    /// <summary><c>/proc/sys/fs/pipe-user-pages-hard</c> (0: none): past it, an unprivileged user may not grow pipes.</summary>
    public ulong PipeUserPagesHard { get; init; }

    /// <summary><c>CAP_SYS_RESOURCE</c>: pipes may grow past pipe-max-size.</summary>
    public bool CapSysResource { get; init; }

    /// <summary><c>CAP_SYS_ADMIN</c>: with CAP_SYS_RESOURCE, exempts from the pipe page limits.</summary>
    public bool CapSysAdmin { get; init; }

    /// <summary><c>CAP_IPC_LOCK</c>: mlock and MAP_LOCKED ignore RLIMIT_MEMLOCK.</summary>
    public bool CapIpcLock { get; init; }

    /// <summary><c>RLIMIT_MEMLOCK</c> (soft), in bytes.</summary>
    public ulong MemlockLimit { get; init; } = 8UL << 20;

    /// <summary><c>/proc/sys/vm/memfd_noexec</c>: 0 makes a memfd without MFD_EXEC or MFD_NOEXEC_SEAL
    /// executable, 1 makes it MFD_NOEXEC_SEAL, 2 also refuses MFD_EXEC.</summary>
    public int MemfdNoexec { get; init; }

    /// <summary>Swap is configured: MADV_PAGEOUT could take anonymous and shmem pages out of memory.</summary>
    public bool Swap { get; init; }
}
