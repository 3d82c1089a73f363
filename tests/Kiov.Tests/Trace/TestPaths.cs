namespace Kiov.Tests.Trace;

/// <summary>Where the tests find the shared trace files and their own traces.</summary>
internal static class TestPaths
{
    /// <summary>The folder holding Kiov.sln, found by walking up from the test binaries.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Kiov.sln")))
                    return dir.FullName;
            }
            throw new DirectoryNotFoundException($"no Kiov.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary><c>docs/examples/</c>: the example traces of docs/trace-format.md, with what the host kernel printed.</summary>
    public static string Examples => Path.Combine(RepoRoot, "docs", "examples");

    /// <summary>The edge-case traces, copied next to the test binaries.</summary>
    public static string Traces => Path.Combine(AppContext.BaseDirectory, "Traces");

    /// <summary>The names (without <c>.jsonl</c>) of the edge-case traces.</summary>
    public static IEnumerable<string> TraceNames =>
        Directory.GetFiles(Traces, "*.jsonl")
            .Where(f => !f.EndsWith(".expected.jsonl", StringComparison.Ordinal))
            .Select(f => Path.GetFileNameWithoutExtension(f))
            .Order(StringComparer.Ordinal);
}
