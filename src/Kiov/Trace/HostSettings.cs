namespace Kiov.Trace;

/// <summary>
/// What the running kernel does where the result depends on how the host is set up rather than on
/// the trace (TRACE.md, "Host settings"), found by short probes in a host-side process of their own,
/// so that the model can be configured to compare like with like.
/// </summary>
public static class HostSettings
{
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
        SharedZeroPage is bool zero ? KernelConfig.Current with { SharedZeroPage = zero } : KernelConfig.Current;

    /// <summary>A line for standard error saying what the probes found, or null when they could not run
    /// (the trace's own run then says why the host-side process is missing).</summary>
    public static string? Describe() => SharedZeroPage switch
    {
        true => "kiov: host: the shared zero page is in use (read faults of anonymous memory map it)",
        false => "kiov: host: no shared zero page (read faults of anonymous memory allocate a page)",
        null => null,
    };

    private static bool? ProbeSharedZeroPage()
    {
        try
        {
            using var host = new HostSyscalls();
            ulong a = TraceArena.Start;
            if (host.Mmap(a, 2 * Memory.PageGeometry.PageSize, Mm.Prot.Read | Mm.Prot.Write,
                    Mm.MapFlags.Private | Mm.MapFlags.Anonymous | Mm.MapFlags.Fixed, -1, 0) != (long)a)
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
