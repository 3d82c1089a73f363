using Kiov.Tests.Trace;

namespace Kiov.Tests.Abi;

/// <summary>src/Kiov/Abi is the bottom of every layer: numbers and nothing else, so that the model,
/// the trace layer and the host back end can all use it without depending on one another.</summary>
public class AbiLayerTests
{
    [Fact]
    public void The_Abi_folder_uses_nothing_and_holds_only_Kiov_Abi()
    {
        string dir = Path.Combine(TestPaths.RepoRoot, "src", "Kiov", "Abi");
        string[] files = Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        var wrong =
            from file in files
            let lines = File.ReadAllLines(file)
            where lines.Any(l => l.StartsWith("using ", StringComparison.Ordinal)) ||
                  lines.Count(l => l.StartsWith("namespace ", StringComparison.Ordinal)) != 1 ||
                  !lines.Contains("namespace Kiov.Abi;")
            select Path.GetFileName(file);
        Assert.Empty(wrong);
    }
}
