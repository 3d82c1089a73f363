using System.Globalization;

namespace Kiov.Trace;

/// <summary>
/// What this machine is set up with, as far as a trace's results depend on it (TRACE.md "Host
/// settings"): pipe limits and memfd_noexec from /proc/sys, RLIMIT_MEMLOCK from /proc/self/limits,
/// the capabilities that lift those limits from /proc/self/status, and swap from /proc/meminfo.
/// The host back end says on standard error what it found; the model back end takes the same as
/// its <see cref="KernelConfig.Limits"/>, so both compare like with like. A value that cannot be
/// read keeps the kernel's default.
/// </summary>
public static class HostSettings
{
    private static readonly Lazy<HostLimits> s_current = new(Probe);

    /// <summary>This machine's settings, read once.</summary>
    public static HostLimits Current => s_current.Value;

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
            SharedZeroPage = ZeroPage() != "none",
        };
    }

    /// <summary>The one line a host runner prints on standard error at start.</summary>
    public static string Describe(HostLimits s) => string.Create(CultureInfo.InvariantCulture,
        $"kiov host: pipe-max-size={s.PipeMaxSize} pipe-user-pages-soft={s.PipeUserPagesSoft} pipe-user-pages-hard={s.PipeUserPagesHard} " +
        $"memlock={s.MemlockLimit} cap_ipc_lock={Yes(s.CapIpcLock)} cap_sys_resource={Yes(s.CapSysResource)} cap_sys_admin={Yes(s.CapSysAdmin)} " +
        $"memfd_noexec={s.MemfdNoexec} swap={Yes(s.Swap)} zero_page={ZeroPage()}");

    private static string Yes(bool b) => b ? "yes" : "no";

    // pvm_no_zero_page=1 on the kernel command line: read faults of anonymous memory get pages of
    // their own; the model never maps a shared zero page into user memory either.
    private static string ZeroPage()
    {
        try { return File.ReadAllText("/proc/cmdline").Contains("pvm_no_zero_page=1", StringComparison.Ordinal) ? "none" : "shared"; }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
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
