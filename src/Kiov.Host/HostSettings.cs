using System.Globalization;

namespace Kiov.Trace;

/// <summary>
/// What this host is set up with, as far as a trace's results depend on it (docs/trace-format.md "Host
/// settings"): the limits read from /proc (<see cref="ProcLimits"/>), and whether read faults of
/// anonymous memory map the shared zero page, which is behaviour, not a setting one can read everywhere,
/// so it is found by a short probe through the host back end (kiov-exec). The host back end says on
/// standard error what it found; a model set up with <see cref="ModelConfig"/> takes the same, so both
/// compare like with like.
/// </summary>
internal static class HostSettings
{
    /// <summary>This machine's limits, read once (<see cref="ProcLimits.Current"/>).</summary>
    public static HostLimits Current => ProcLimits.Current;

    private static readonly Lazy<bool?> s_sharedZeroPage = new(ProbeSharedZeroPage);

    /// <summary>
    /// True when a read fault of private anonymous memory maps the shared zero page on this host:
    /// found by vmsplicing an untouched page into a pipe, then writing the page; with the zero page
    /// the pipe holds the zero page and reads back zeros, without it the written bytes. Null when no
    /// host-side process can be started. Probed once per process.
    /// </summary>
    public static bool? SharedZeroPage => s_sharedZeroPage.Value;

    /// <summary>The model's configuration for a comparison with this host: the running kernel, with
    /// the host's limits and its zero-page behaviour when it could be probed.</summary>
    public static KernelConfig ModelConfig() =>
        KernelConfig.Current with { Limits = Current, SharedZeroPage = SharedZeroPage ?? KernelConfig.Current.SharedZeroPage };

    /// <summary>The line a host runner prints on standard error at start (after <c>kiov: </c>).</summary>
    public static string Describe(HostLimits s) => string.Create(CultureInfo.InvariantCulture,
        $"host: pipe-max-size={s.PipeMaxSize} pipe-user-pages-soft={s.PipeUserPagesSoft} pipe-user-pages-hard={s.PipeUserPagesHard} " +
        $"memlock={s.MemlockLimit} cap_ipc_lock={Yes(s.CapIpcLock)} cap_sys_resource={Yes(s.CapSysResource)} cap_sys_admin={Yes(s.CapSysAdmin)} " +
        $"memfd_noexec={s.MemfdNoexec} swap={Yes(s.Swap)} zero_page={SharedZeroPage switch { true => "shared", false => "none", null => "unknown" }}");

    private static string Yes(bool b) => b ? "yes" : "no";

    private static bool? ProbeSharedZeroPage()
    {
        try
        {
            using var host = new HostSyscalls();
            ulong a = TraceArena.Start;
            if (host.Mmap(a, 2 * Memory.PageGeometry.PageSize, Abi.Prot.Read | Abi.Prot.Write,
                    Abi.MapFlags.Private | Abi.MapFlags.Anonymous | Abi.MapFlags.Fixed, -1, 0) != (long)a)
                return null;
            if (host.Pipe(out int r, out int w) != 0) return null;
            if (host.Vmsplice(w, [new Iov.IoVec(a, 1)]) != 1) return null;
            if (host.Fill(a, 1, 1) != 1) return null;
            ulong b = a + Memory.PageGeometry.PageSize;
            if (host.Read(r, b, 1) != 1) return null;
            if (host.Hash(b, 1, out ulong zeroOrWritten) != 1) return null;
            if (host.Hash(a, 1, out ulong written) != 1) return null;
            return zeroOrWritten != written;
        }
        catch (Exception e) when (e is HostExecutorException or IOException or InvalidOperationException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
