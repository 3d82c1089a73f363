using BenchmarkDotNet.Running;

namespace Kiov.Bench;

/// <summary>Entry point: <c>dotnet run -c Release --project bench/Kiov.Bench -- --filter '*'</c>.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks the switcher selects.</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
