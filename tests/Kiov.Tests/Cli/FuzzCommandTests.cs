using System.Diagnostics;
using System.Text.Json;
using Kiov.Trace.Fuzz;
using static Kiov.Tests.Cli.KiovProcess;

namespace Kiov.Tests.Cli;

/// <summary>Issues 15 and 16: <c>kiov fuzz</c> checks its output folder first, stops cleanly on
/// Ctrl-C with what it found, splits into shards that add up to the unsharded session.</summary>
public class FuzzCommandTests
{
    [Theory]
    [InlineData("/proc/kiov-fuzz-out", "is not a directory kiov can write in")]
    [InlineData("/etc/hostname", "is a file, not a directory")]
    public void An_out_folder_that_cannot_be_written_is_exit_2_before_any_run(string dir, string says)
    {
        var r = Run($"fuzz --runs 5 --ops 10 --out {Quote(dir)}");
        AssertOneLineError(r, 2, says);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public async Task Ctrl_C_stops_cleanly_keeps_the_summary_and_exits_130()
    {
        using var dir = TempDir();
        using var p = Start($"fuzz --seed 3 --runs 1000000 --ops 30 --jobs 1 --shrink-steps 5 --out {Quote(dir.Path)}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var lines = new List<string>();
        // Wait for a progress line (runs done, ops/s, failures, time left), then interrupt.
        while (await p.StandardError.ReadLineAsync() is { } line)
        {
            lines.Add(line);
            if (line.Contains(" runs, ", StringComparison.Ordinal))
                break;
        }
        Assert.Matches(@"^fuzz: \d+/1000000 runs, \d+ failed, [\d,]+ ops/s, [\d.]+ s, (about .* left|time left unknown)$", lines[^1]);
        using (var kill = Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            kill.WaitForExit();
        lines.AddRange((await p.StandardError.ReadToEndAsync()).TrimEnd('\n').Split('\n'));
        await p.WaitForExitAsync().WaitAsync(Patience);
        string output = await stdout;
        Assert.Equal(130, p.ExitCode);
        Assert.Matches(@"^\d+ passed, \d+ failed\n$", output);
        Assert.Equal("kiov: interrupted", lines[^1]);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "summary.json")));
        Assert.Equal("interrupted", summary.RootElement.GetProperty("stopped").GetString());
        int passed = summary.RootElement.GetProperty("passed").GetInt32(), failed = summary.RootElement.GetProperty("failed").GetInt32();
        Assert.Equal($"{passed} passed, {failed} failed\n", output);
        Assert.Equal(failed, summary.RootElement.GetProperty("divergences").GetArrayLength());
    }

    [Fact]
    public void Shards_run_exactly_the_runs_of_the_unsharded_session_and_merge_adds_them_up()
    {
        using var all = TempDir();
        using var s1 = TempDir();
        using var s2 = TempDir();
        using var s3 = TempDir();
        const string common = "fuzz --seed 11 --runs 7 --ops 25 --jobs 2 --shrink-steps 3";
        var whole = Run($"{common} --out {Quote(all.Path)}");
        Assert.True(whole.Exit is 0 or 1, whole.Stderr);
        var shards = new[] { s1, s2, s3 }.Select((d, i) => Run($"{common} --shard {i + 1}/3 --out {Quote(d.Path)}")).ToList();
        Assert.All(shards, s => Assert.True(s.Exit is 0 or 1, s.Stderr));
        var merged = Run($"fuzz --merge {Quote(s1.Path)} {Quote(s2.Path)} {Quote(s3.Path)}");
        Assert.Equal((whole.Exit, whole.Stdout, ""), (merged.Exit, merged.Stdout, merged.Stderr));
        var divergences = new[] { s1, s2, s3 }.SelectMany(d => Directory.GetFiles(d.Path, "divergence-*.jsonl")).Select(Path.GetFileName).Order();
        Assert.Equal(Directory.GetFiles(all.Path, "divergence-*.jsonl").Select(Path.GetFileName).Order(), divergences);
        // Two of three shards: the sum of those, and a note naming the missing one.
        var partial = Run($"fuzz --merge {Quote(s1.Path)} {Quote(s3.Path)}");
        AssertOneLineError(partial, partial.Exit, "shard 2 of 3 missing");
        AssertOneLineError(Run($"fuzz --merge {Quote(s1.Path)} {Quote(s1.Path)}"), 2, "given twice");
        AssertOneLineError(Run($"fuzz --merge {Quote(all.Path)} {Quote(s1.Path)}"), 2, "is from another campaign");
        using var empty = TempDir();
        AssertOneLineError(Run($"fuzz --merge {Quote(empty.Path)}"), 2, "holds no fuzz summary");
    }

    [Fact]
    public void A_time_budget_ends_the_session_by_itself_with_a_summary()
    {
        using var dir = TempDir();
        var r = Run($"fuzz --seed 5 --duration 1s --ops 10 --jobs 1 --shrink-steps 3 --out {Quote(dir.Path)}");
        Assert.True(r.Exit is 0 or 1, r.Stderr);
        Assert.Matches(@"^\d+ passed, \d+ failed\n$", r.Stdout);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "summary.json")));
        Assert.Equal("duration", summary.RootElement.GetProperty("stopped").GetString());
    }

    [Fact]
    public void The_shards_of_a_campaign_partition_its_runs()
    {
        foreach (int runs in new[] { 1, 7, 100 })
        foreach (int shards in new[] { 1, 3, 8 })
        {
            var seen = new List<int>();
            for (int k = 1; k <= shards; k++)
            {
                var o = new FuzzOptions(1, 10, runs, "x", 1, Shard: k, Shards: shards);
                seen.AddRange(Enumerable.Range(0, o.ShardRuns).Select(o.RunIndex));
            }
            Assert.Equal(Enumerable.Range(0, runs), seen.Order());
        }
    }
}
