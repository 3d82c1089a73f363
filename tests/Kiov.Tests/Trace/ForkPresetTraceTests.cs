using Kiov.Trace;

namespace Kiov.Tests.Trace;

/// <summary>The fork traces on the presets of the fork stories: CVE-2020-29374 as a trace. On 5.7 the
/// child's pipe reads what the parent wrote after the child let go of the page; from 5.8 on it reads
/// what the host kernel reads.</summary>
public class ForkPresetTraceTests
{
    private static string[] Run(KernelConfig config, string name)
    {
        string[] lines = File.ReadAllLines(Path.Combine(TestPaths.Traces, name + ".jsonl"));
        using var model = new ModelSyscalls(config with { SharedZeroPage = HostSettings.SharedZeroPage ?? false });
        return TraceRunner.RunToString(TraceReader.Read(lines), model).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static string[] Expected(string name) =>
        File.ReadAllLines(Path.Combine(TestPaths.Traces, name + ".expected.jsonl"));

    [Fact]
    public void Cve2020_29374_ReproducesOn5_7AndOnlyThere()
    {
        string[] expected = Expected("fork-vmsplice-then-fork");
        Assert.Equal(expected, Run(KernelConfig.Linux5_18, "fork-vmsplice-then-fork"));
        string[] old = Run(KernelConfig.Linux5_7, "fork-vmsplice-then-fork");
        int[] differing = Enumerable.Range(0, expected.Length).Where(i => old[i] != expected[i]).ToArray();
        // The two reads of the page the child let go of (munmap, then exit) show the parent's later writes.
        // (0-based result lines 23 and 29: the hashes after the child's munmap and after its exit).
        Assert.Equal([23, 29], differing);
    }
}
