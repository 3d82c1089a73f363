using System.Globalization;

namespace Kiov.Trace;

/// <summary>
/// This machine's settings that a trace's results depend on and that can be read rather than probed
/// (docs/trace-format.md "Host settings"): pipe limits and memfd_noexec from /proc/sys, RLIMIT_MEMLOCK
/// from /proc/self/limits, the capabilities that lift those limits from /proc/self/status, and swap
/// from /proc/meminfo. The model back end takes them as its <see cref="KernelConfig.Limits"/>, so it
/// compares like with like with the host back end. A value that cannot be read keeps the kernel's default.
/// The one setting that must be probed by behaviour, the shared zero page, is the host back end's
/// (<c>HostSettings</c> in Kiov.Host).
/// </summary>
internal static class ProcLimits
{
    private static readonly Lazy<HostLimits> s_current = new(Read);

    /// <summary>This machine's limits, read once.</summary>
    public static HostLimits Current => s_current.Value;

    /// <summary>Reads the limits from /proc.</summary>
    public static HostLimits Read()
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
