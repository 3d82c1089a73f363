using System.CommandLine;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kiov.Cli;
using Kiov.Cli.Commands;
using Kiov.Tests.Trace;

namespace Kiov.Tests.Cli;

[Collection(HostCollection.Name)]
public class BenchCommandTests
{
    private static readonly string[] Workloads = ["pipe: writev + readv", "memfd: pwritev + preadv", "process_vm_readv (self)"];
    private static readonly string[] Sizes = ["512 B", "4 KiB", "64 KiB", "1 MiB"];

    [Fact]
    public void QuickBenchPrintsEveryWorkloadAtEverySizeOnAllThreeSides()
    {
        var output = new StringWriter();
        Assert.Equal(0, BenchCommand.Run(output, quick: true));
        string text = output.ToString();
        Assert.Contains("model/host: model speed / host speed; above 1 the model is faster", text);
        foreach (string w in Workloads)
            foreach (string size in Sizes)
                Assert.Matches($@"(?m)^{Regex.Escape(w)} +{Regex.Escape(size)} +[0-9.]+ +[0-9.]+ +[0-9.]+x +[0-9.]+ +[0-9.]+ +±[0-9]+%", text);
        foreach (int perCall in new[] { 1, 16, 1024 })
        {
            Assert.Matches($@"(?m)^pin_user_pages_fast \+ unpin_user_pages +{perCall} +[0-9.]+ +±[0-9]+%", text);
            Assert.Matches($@"(?m)^get_user_pages_fast \+ put_page +{perCall} +[0-9.]+ +±[0-9]+%", text);
        }
        Assert.Contains("the seed thread's proposals", text);
    }

    [Fact]
    public void JsonCarriesEveryCellWithItsRatiosAndThePlotIsAnSvgWithAPanelPerWorkload()
    {
        string svg = Path.Combine(Path.GetTempPath(), $"kiov-bench-{Guid.NewGuid():N}.svg");
        try
        {
            var output = new StringWriter();
            Assert.Equal(0, BenchCommand.Run(output, quick: true, json: true, plotFile: svg));
            using var doc = JsonDocument.Parse(output.ToString());
            JsonElement root = doc.RootElement;
            Assert.True(root.GetProperty("quick").GetBoolean());
            JsonElement[] cells = [.. root.GetProperty("throughput").EnumerateArray()];
            Assert.Equal(Workloads.Length * Sizes.Length, cells.Length);
            foreach (JsonElement c in cells)
            {
                double model = c.GetProperty("model").GetProperty("gbPerSecond").GetDouble();
                double host = c.GetProperty("host").GetProperty("gbPerSecond").GetDouble();
                Assert.True(model > 0 && host > 0);
                Assert.Equal(model / host, c.GetProperty("modelOverHost").GetDouble(), 6);
                Assert.True(c.GetProperty("memcpy").GetProperty("gbPerSecond").GetDouble() > 0);
            }
            Assert.Equal(6, root.GetProperty("pages").GetArrayLength());
            string text = File.ReadAllText(svg);
            Assert.Contains("<svg", text);
            foreach (string w in Workloads) Assert.Contains(w.Split(' ')[0].TrimEnd(':'), text);
        }
        finally { File.Delete(svg); }
    }

    [Theory]
    [InlineData("--plot", "bench.txt")]
    [InlineData("--filter", "no-such-workload")]
    public void BadOptionsAreOneLineAndExitTwo(string option, string value)
    {
        var error = new StringWriter();
        var root = new RootCommand { BenchCommand.Create() };
        int code = root.Parse(["bench", "--quick", option, value]).Invoke(new InvocationConfiguration { Output = new StringWriter(), Error = error });
        string err = error.ToString();
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.StartsWith("kiov: --", err);
    }
}
