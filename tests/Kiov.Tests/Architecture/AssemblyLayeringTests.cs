using System.Reflection;

namespace Kiov.Tests.Architecture;

/// <summary>
/// The product's assemblies (README.md, "Assemblies"), read from their metadata: each references only
/// the product assemblies below it, so the model (Kiov) knows nothing of traces, the host or the
/// experiments, and the sample embeds the model alone.
/// </summary>
public class AssemblyLayeringTests
{
    /// <summary>Each product assembly, bottom up, with the product assemblies it may reference.</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> Allowed = new Dictionary<string, string[]>
    {
        ["Kiov"] = [],
        ["Kiov.Experiments"] = ["Kiov"],
        ["Kiov.Trace"] = ["Kiov"],
        ["Kiov.Host"] = ["Kiov", "Kiov.Trace"],
        ["Kiov.Fuzz"] = ["Kiov", "Kiov.Trace", "Kiov.Host"],
        ["Kiov.Cli"] = ["Kiov", "Kiov.Experiments", "Kiov.Trace", "Kiov.Host", "Kiov.Fuzz"],
        ["ToyGuest"] = ["Kiov"],
    };

    public static TheoryData<string> Assemblies => [.. Allowed.Keys];

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void AnAssemblyReferencesOnlyTheAssembliesBelowIt(string name)
    {
        Assembly assembly = Assembly.Load(new AssemblyName(name));
        string[] referenced = [.. assembly.GetReferencedAssemblies().Select(a => a.Name!)];
        Assert.Empty(Violations(name, referenced));
    }

    [Fact]
    public void EveryProductAssemblyHasAPlaceInTheLayers()
    {
        string[] built = [.. Directory.EnumerateFiles(AppContext.BaseDirectory, "Kiov*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n != "Kiov.Tests")!];
        Assert.Contains("Kiov", built);
        Assert.All(built, n => Assert.True(Allowed.ContainsKey(n!), $"{n} is not in the layer table"));
    }

    [Fact]
    public void TheModelReferencingTheTraceRunnerIsAViolation()
    {
        Assert.Equal(["Kiov references Kiov.Trace, which is not below it"], Violations("Kiov", ["System.Runtime", "Kiov.Trace"]));
        Assert.Equal(["Kiov.Trace references Kiov.Host, which is not below it"], Violations("Kiov.Trace", ["Kiov", "Kiov.Host"]));
        Assert.Empty(Violations("Kiov.Host", ["Kiov", "Kiov.Trace", "System.Runtime"]));
    }

    /// <summary>The product assemblies among <paramref name="referenced"/> that <paramref name="name"/> may not reference.</summary>
    internal static IEnumerable<string> Violations(string name, IEnumerable<string> referenced) =>
        from r in referenced
        where (r == "Kiov" || r.StartsWith("Kiov.", StringComparison.Ordinal) || Allowed.ContainsKey(r)) && !Allowed[name].Contains(r)
        select $"{name} references {r}, which is not below it";
}
