using System.Globalization;

namespace Kiov.Trace;

/// <summary>
/// What this machine is set up with, as far as a trace's results depend on it (docs/trace-format.md "Host
/// settings"): pipe limits and memfd_noexec from /proc/sys, RLIMIT_MEMLOCK from /proc/self/limits,
/// the capabilities that lift those limits from /proc/self/status, and swap from /proc/meminfo.
/// Whether read faults of anonymous memory map the shared zero page is found by a short probe in a
/// host-side process (kiov-exec) instead, since it is behaviour, not a setting one can read everywhere.
/// The host back end says on standard error what it found; the model back end takes the same as
/// its <see cref="KernelConfig.Limits"/> and <see cref="KernelConfig.SharedZeroPage"/>, so both
/// compare like with like. A value that cannot be read keeps the kernel's default.
/// </summary>
internal static class HostSettings
{
    private static readonly Lazy<HostLimits> s_current = new(Probe);

    /// <summary>This machine's settings, read once.</summary>
    public static HostLimits Current => s_current.Value;

    private static readonly Lazy<bool?> s_sharedZeroPage = new(ProbeSharedZeroPage);

    /// <summary>
    /// True when a read fault of private anonymous memory maps the shared zero page on this host:
    /// found by vmsplicing an untouched page into a pipe, then writing the page; with the zero page
    /// the pipe holds the zero page and reads back zeros, without it the written bytes. Null when no
    /// host-side process can be started. Probed once per process.
    /// </summary>
    public static bool? SharedZeroPage => s_sharedZeroPage.Value;

    /// <summary>The model's configuration for a comparison with this host: the running kernel, with
    /// the host's zero-page behaviour when it could be probed.</summary>
    public static KernelConfig ModelConfig() =>
        KernelConfig.Current with { Limits = Current, SharedZeroPage = SharedZeroPage ?? KernelConfig.Current.SharedZeroPage };

    /// <summary>Reads the settings from /proc.</summary>
    public static HostLimits Probe()
    {
        var d = new HostLimits();
        ulong caps = ReadHex("/proc/self/status", "CapEff:") ?? 0;
        return d with
        {
            PipeMaxSize = (uint)(ReadNumber("/proc/sys/fs/pipe-max-size") ?? d.PipeMaxSize),
            PipeUserPagesSoft = ReadNumber("/proc/sys/fs/pipe-user-pages-soft") ?? d.PipeUserPagesSoft,
            PipeUserPagesHard = ReadNumber("/proc/sys/fs/pipe-user-pages-hard") ?? d.PipeUserPagesHard,
            MemfdNoexec = (int)(ReadNumber("/proc/sys/vm/memfd_noexec") ?? (ulong)d.MemfdNoexec),
            MemlockLimit = ReadMemlock() ?? d.MemlockLimit,
            CapIpcLock = (caps & (1UL << 14)) != 0,
            CapSysAdmin = (caps & (1UL << 21)) != 0,
            CapSysResource = (caps & (1UL << 24)) != 0,
            Swap = (ReadField("/proc/meminfo", "SwapTotal:") ?? 0) != 0,
        };
    }

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
            using ISyscalls? host = StartHostBackEnd();
            if (host is null) return null;
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

    // The host back end (HostSyscalls) lives in Kiov.Host, above this assembly: the probe starts it by
    // name when the program has it, and has nothing to probe with when it has not.
    private static ISyscalls? StartHostBackEnd()
    {
        Type? type = Type.GetType("Kiov.Trace.HostSyscalls, Kiov.Host", throwOnError: false);
        if (type is null) return null;
        try { return (ISyscalls?)Activator.CreateInstance(type); }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    private static ulong? ReadNumber(string path)
    {
        try { return ulong.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static string? Line(string path, string prefix)
    {
        try { return File.ReadLines(path).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..].Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static ulong? ReadHex(string path, string prefix) =>
        Line(path, prefix) is { } v && ulong.TryParse(v, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong x) ? x : null;

    private static ulong? ReadField(string path, string prefix) =>
        Line(path, prefix)?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var n, ..] &&
        ulong.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out ulong x) ? x : null;

    // "Max locked memory  8388608  8388608  bytes": the soft limit, or unlimited.
    private static ulong? ReadMemlock()
    {
        string[]? f = Line("/proc/self/limits", "Max locked memory")?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f is not [var soft, ..]) return null;
        if (soft == "unlimited") return ulong.MaxValue;
        return ulong.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out ulong x) ? x : null;
    }
}
