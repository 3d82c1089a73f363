using System.Text.RegularExpressions;
using Kiov.Tests.Trace;

namespace Kiov.Tests.Architecture;

/// <summary>The layers of README.md's "Layers" table: each folder of src/Kiov, the model's assembly, uses only
/// the layers below it (the assemblies above the model: <see cref="AssemblyLayeringTests"/>).</summary>
public partial class LayeringTests
{
    private static readonly string[] Order = ["Concurrency", "Memory", "Mm", "Uaccess", "Gup", "Iov", "Fs", "Drivers"];

    [GeneratedRegex(@"\bKiov\.(Concurrency|Memory|Mm|Uaccess|Gup|Iov|Fs|Drivers|Trace)\b")]
    private static partial Regex LayerReference();

    public static TheoryData<string> Layers => [.. Order];

    [Theory]
    [MemberData(nameof(Layers))]
    public void ALayerUsesOnlyTheLayersBelowIt(string layer)
    {
        string dir = Path.Combine(TestPaths.RepoRoot, "src", "Kiov", layer);
        Assert.True(Directory.Exists(dir), dir);
        var allowed = Order.TakeWhile(l => l != layer).Append(layer).ToHashSet();
        var violations =
            from file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            from line in File.ReadLines(file)
            where !line.TrimStart().StartsWith("///", StringComparison.Ordinal) && !line.TrimStart().StartsWith("//", StringComparison.Ordinal)
            from Match m in LayerReference().Matches(line)
            where !allowed.Contains(m.Groups[1].Value)
            select $"{Path.GetFileName(file)}: {line.Trim()}";
        Assert.Empty(violations);
    }
}
