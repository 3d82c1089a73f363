using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Kiov.Trace;

namespace Kiov.Cli.Commands;

/// <summary>
/// <c>kiov litmus FILE [--host N]</c>: every outcome the model allows for a litmus test (a trace with
/// <c>par</c> lines), each with a schedule that produces it; with <c>--host N</c>, the test run N times
/// on the host kernel (in a child process, on real threads released together), a histogram of what
/// the host showed, and the verdict: exit 0 when every host outcome is one the model allows, exit 1
/// at the first that is not.
/// </summary>
internal static class LitmusCommand
{
    /// <summary>Builds the <c>litmus</c> command.</summary>
    public static Command Create()
    {
        var host = new Option<int>("--host") { Description = "Also run the test N times on the host kernel and compare" };
        var maxRuns = new Option<int>("--max-runs") { Description = "The most schedules the exhaustive search runs (default 20000)", DefaultValueFactory = _ => 20_000 };
        var save = new Option<string>("--save-histogram") { Description = "Write the host's histogram to this file (docs/trace-format.md's host-histogram format)" };
        var recorded = new Option<string>("--recorded") { Description = "Check a host histogram recorded earlier (--save-histogram's file) instead of running the host" };
        var hostChild = new Option<int>("--host-child") { Hidden = true };
        var file = new Argument<string>("file") { Description = "The litmus test (a trace with par lines), or - for standard input" };
        var command = new Command("litmus", "Every outcome the model allows for a litmus test; with --host N, checked against the host kernel");
        command.Options.Add(host);
        command.Options.Add(maxRuns);
        command.Options.Add(save);
        command.Options.Add(recorded);
        command.Options.Add(hostChild);
        command.Arguments.Add(file);
        command.SetAction(parse => ExitCodes.Guard(Console.Error, () =>
        {
            LitmusTrace trace = LitmusTrace.Load(parse.GetValue(file)!, Console.OpenStandardInput);
            if (parse.GetValue(hostChild) is > 0 and int runs) return HostRuns(trace, runs, Console.Out);
            if (parse.GetValue(recorded) is { } r)
            {
                if (parse.GetValue(host) != 0 || parse.GetValue(save) != null)
                    throw new ToolInputException("--recorded checks a histogram already recorded: it takes neither --host nor --save-histogram");
                return Run(trace, 0, parse.GetValue(maxRuns), Console.Out, recorded: r);
            }
            return Run(trace, parse.GetValue(host), parse.GetValue(maxRuns), Console.Out, parse.GetValue(save));
        }));
        return command;
    }

    /// <summary>Runs <c>kiov litmus</c> on a loaded trace.</summary>
    /// <param name="trace">The test.</param>
    /// <param name="hostRuns">Host runs; 0 for the model alone.</param>
    /// <param name="maxRuns">The exhaustive search's budget of schedules.</param>
    /// <param name="stdout">Where the report goes.</param>
    /// <param name="saveHistogram">A file for the host's histogram, or null.</param>
    /// <param name="recorded">A host histogram recorded earlier to check instead of running the host, or null.</param>
    /// <returns>The exit status.</returns>
    public static int Run(LitmusTrace trace, int hostRuns, int maxRuns, TextWriter stdout, string? saveHistogram = null, string? recorded = null)
    {
        if (hostRuns < 0) throw new ToolInputException("--host must be a positive number of runs");
        if (maxRuns < 1) throw new ToolInputException("--max-runs must be at least 1");
        int first = LitmusModel.FirstPar(trace.Ops);
        if (first < 0) throw new ToolInputException($"{trace.Name}: no par line: not a litmus test");
        LitmusModelResult model = LitmusModel.Explore(trace.Ops, maxRuns, config: HostSettings.ModelConfig()); // set up as the host is (its zero page)
        if (model.Failure is { } f)
        {
            stdout.Write($"{trace.Name}: the model failed on schedule {f.Schedule}: {f.Error.Message}\n");
            return ExitCodes.Internal;
        }
        if (model.Outcomes.Count == 0)
            throw new ToolInputException($"{trace.Name}:{ParLine(model.Stuck.Why, trace.Ops[first].Line)}: the threads cannot all finish on any schedule ({model.Stuck.Count} tried; {model.Stuck.Why})");
        stdout.Write(model.Complete
            ? $"{trace.Name}: the model allows {model.Outcomes.Count} outcome(s), every schedule searched ({model.Runs} runs)\n"
            : $"{trace.Name}: the model reached {model.Outcomes.Count} outcome(s) within the bound ({model.Runs} runs; not every schedule was searched)\n");
        if (model.Stuck.Count > 0)
            stdout.Write($"  {model.Stuck.Count} schedule(s) could not finish, e.g. {model.Stuck.Schedule}: {model.Stuck.Why}\n");
        for (int i = 0; i < model.Outcomes.Count; i++)
            stdout.Write($"  m{i + 1}: {model.Outcomes[i].Count} run(s), schedule {model.Outcomes[i].Schedule}\n{Indent(model.Outcomes[i].Lines)}");
        if (recorded != null) return Verdict(trace, model, ReadRecorded(recorded), stdout);
        if (hostRuns == 0) return ExitCodes.Ok;
        HostHistogram host = RunHostChild(trace, hostRuns);
        if (saveHistogram != null)
            File.WriteAllText(saveHistogram, string.Concat(host.Counts.Select(c =>
                $"{{\"count\":{c.Count},\"outcome\":[{string.Join(',', c.Lines.Split('\n', StringSplitOptions.RemoveEmptyEntries))}]}}\n")));
        return Verdict(trace, model, host, stdout);
    }

    private static int ParLine(string why, int fallback) =>
        why.StartsWith("line ", StringComparison.Ordinal) && int.TryParse(why.AsSpan(5, why.IndexOf(':') - 5), out int l) ? l : fallback;

    private static string Indent(string lines) => string.Concat(lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => $"      {l}\n"));

    /// <summary>What the host showed: outcome (lines, each ended by <c>\n</c>) → count, and a hang if one stopped the runs.</summary>
    /// <param name="Counts">Each outcome's count, in the order first seen.</param>
    /// <param name="Hang">Why the runs stopped early, or null.</param>
    public sealed record HostHistogram(List<(string Lines, int Count)> Counts, string? Hang);

    private static int Verdict(LitmusTrace trace, LitmusModelResult model, HostHistogram host, TextWriter stdout)
    {
        string name = trace.Name;
        var allowed = model.Outcomes.Select(o => o.Lines).ToHashSet();
        int total = host.Counts.Sum(c => c.Count);
        stdout.Write($"{name}: the host showed {host.Counts.Count} outcome(s) over {total} run(s)\n");
        var hostOnly = new List<(string Class, int Count)>();
        (string Lines, int Count)? bad = null;
        foreach (var (lines, count) in host.Counts)
        {
            int m = model.Outcomes.ToList().FindIndex(o => o.Lines == lines);
            if (m >= 0) { stdout.Write($"  m{m + 1}: {count}\n"); continue; }
            if (LitmusHostOnly.Classify(lines, allowed, trace.HostOnly) is { } cls)
            {
                hostOnly.Add((cls, count));
                continue;
            }
            stdout.Write($"  NOT ALLOWED: {count}\n{Indent(lines)}");
            bad ??= (lines, count);
        }
        foreach (var group in hostOnly.GroupBy(h => h.Class))
            stdout.Write($"  host-only ({group.Key}, declared by the test): {group.Count()} outcome(s), {group.Sum(h => h.Count)} run(s)\n");
        foreach (var (o, i) in model.Outcomes.Select((o, i) => (o, i)))
            if (!host.Counts.Any(c => c.Lines == o.Lines)) stdout.Write($"  m{i + 1}: allowed, never seen on the host\n");
        if (host.Hang != null) stdout.Write($"  host: {host.Hang}\n");
        if (bad is { } b)
        {
            stdout.Write($"{name}: FAIL: the host showed an outcome the model cannot produce; the nearest model outcomes:\n");
            foreach (LitmusOutcome o in model.Outcomes.OrderBy(o => Distance(o.Lines, b.Lines)).Take(2))
                stdout.Write($"  {Distance(o.Lines, b.Lines)} line(s) apart, schedule {o.Schedule}\n{Indent(o.Lines)}");
            return ExitCodes.Differ;
        }
        if (host.Hang != null) { stdout.Write($"{name}: the host runs stopped: {host.Hang}\n"); return ExitCodes.Internal; }
        // A declared host-only class is a race inside one of the model's steps: rare by nature. If it
        // covers more than a few runs, the likelier story is that the model's own hashes are wrong
        // (every host outcome would then differ from the model's in its hashes alone), so say so.
        int hostOnlyRuns = hostOnly.Sum(h => h.Count);
        if (hostOnlyRuns > MaxHostOnlyRuns(total))
        {
            stdout.Write($"{name}: FAIL: {hostOnlyRuns} of {total} host run(s) differ from the model's outcomes in their hashes alone: " +
                         "more than a race inside one page explains; the model's bytes may be wrong\n");
            return ExitCodes.Differ;
        }
        stdout.Write(hostOnly.Count == 0
            ? $"{name}: ok: every host outcome is allowed by the model\n"
            : $"{name}: ok: every host outcome is allowed by the model or of the host-only class the test declares\n");
        return ExitCodes.Ok;
    }

    /// <summary>The most host runs a declared host-only class may account for: 1% of them, and at
    /// least one.</summary>
    internal static int MaxHostOnlyRuns(int total) => Math.Max(1, total / 100);

    private static int Distance(string a, string b)
    {
        string[] x = a.Split('\n'), y = b.Split('\n');
        return Enumerable.Range(0, Math.Max(x.Length, y.Length)).Count(i => i >= x.Length || i >= y.Length || x[i] != y[i]);
    }

    private static HostHistogram RunHostChild(LitmusTrace trace, int runs)
    {
        using var child = new Process { StartInfo = HostChild.StartInfo("litmus", "--host-child", runs.ToString(System.Globalization.CultureInfo.InvariantCulture), "-") };
        child.Start();
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        try
        {
            foreach (string line in trace.Lines) { child.StandardInput.Write(line); child.StandardInput.Write('\n'); }
            child.StandardInput.Close();
        }
        catch (IOException) { }
        // Each run stops itself after ParOp.HostTimeout; this is the backstop for a child that does not.
        TimeSpan limit = TimeSpan.FromSeconds(60) + TimeSpan.FromMilliseconds(50.0 * runs);
        string? hang = null;
        if (!child.WaitForExit(limit))
        {
            child.Kill(entireProcessTree: true);
            hang = $"the host child was killed after {limit.TotalSeconds:0} s";
        }
        child.WaitForExit();
        HostHistogram got = ParseHistogram(stdout.Result, "the host child");
        hang ??= got.Hang;
        if (hang == null && child.ExitCode != ExitCodes.Ok)
            hang = $"the host child exited {child.ExitCode}: {stderr.Result.Split('\n').FirstOrDefault()}";
        return got with { Hang = hang };
    }

    // A histogram file as --save-histogram writes it.
    private static HostHistogram ReadRecorded(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ToolInputException($"{path}: {e.Message}"); }
        return ParseHistogram(text, path);
    }

    // {"count":k,"outcome":[…]} lines (and the child's {"hung":…}) into a histogram.
    private static HostHistogram ParseHistogram(string text, string source)
    {
        var counts = new List<(string, int)>();
        string? hang = null;
        int n = 0;
        foreach (string line in text.Split('\n'))
        {
            n++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("hung", out JsonElement h)) { hang = h.GetString(); continue; }
                string lines = string.Concat(doc.RootElement.GetProperty("outcome").EnumerateArray().Select(e => e.GetRawText() + "\n"));
                counts.Add((lines, doc.RootElement.GetProperty("count").GetInt32()));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new ToolInputException($"{source}:{n}: not a histogram line {{\"count\":k,\"outcome\":[…]}}");
            }
        }
        return new HostHistogram(counts, hang);
    }

    // The child: runs the trace 'runs' times on the host and prints the histogram, one
    // {"count":k,"outcome":[…]} line per outcome; a run that hangs ends the child with a "hung" line.
    private static int HostRuns(LitmusTrace trace, int runs, TextWriter stdout)
    {
        int first = LitmusModel.FirstPar(trace.Ops);
        if (first < 0) throw new ToolInputException($"{trace.Name}: no par line: not a litmus test");
        var counts = new Dictionary<string, int>();
        var order = new List<string>();
        void Print()
        {
            foreach (string o in order) stdout.Write($"{{\"count\":{counts[o]},\"outcome\":[{o}]}}\n");
            stdout.Flush();
        }
        // One executor for every run, reset between runs (its fds closed, its arena reserved afresh,
        // its forked children killed), so that a run costs its system calls, not a process's start.
        using var executor = new ExecutorHostKernel();
        Backends.SayHostSettings();
        for (int run = 0; run < runs; run++)
        {
            var lines = new List<string>();
            try
            {
                if (run > 0 && executor.Reset() is < 0 and long err)
                    throw new HostExecutorException($"the executor could not reset its arena between runs: errno {-err}");
                using ISyscalls sys = new HostSyscalls(executor, ownsKernel: false);
                using var processes = new TraceProcesses(sys);
                for (int i = 0; i < trace.Ops.Count; i++)
                {
                    string r = processes.Run(trace.Ops[i]).ToJson();
                    if (i >= first) lines.Add(r);
                }
            }
            catch (TraceException e)
            {
                Print();
                stdout.Write($"{{\"hung\":{JsonSerializer.Serialize($"run {run + 1}: {trace.Name}:{e.Line}: {e.Problem}")}}}\n");
                stdout.Flush();
                Environment.Exit(ExitCodes.Ok); // threads stuck in a system call end only with the process
            }
            string key = string.Join(',', lines);
            if (counts.TryGetValue(key, out int c)) counts[key] = c + 1;
            else { counts[key] = 1; order.Add(key); }
        }
        Print();
        return ExitCodes.Ok;
    }
}

/// <summary>A litmus test read whole, since it runs many times: its printing lines as text (for
/// the host child) and as ops.</summary>
/// <param name="Name">The file name, or <c>-</c>.</param>
/// <param name="Lines">The lines that print, as read.</param>
/// <param name="Ops">Those lines parsed.</param>
internal sealed record LitmusTrace(string Name, IReadOnlyList<string> Lines, IReadOnlyList<TraceOp> Ops)
{
    /// <summary>The host-only classes the test's comments declare (<c># Host-only: CLASS</c>; a file only).</summary>
    internal IReadOnlySet<string> HostOnly { get; init; } = new HashSet<string>();

    /// <summary>Reads a whole litmus test by the trace format's rules (<see cref="TraceInput"/>).</summary>
    /// <param name="name">The file name, or <c>-</c> for standard input.</param>
    /// <param name="stdin">Opens standard input.</param>
    public static LitmusTrace Load(string name, Func<Stream> stdin)
    {
        using TraceInput input = TraceInput.Open(name, stdin);
        var lines = new List<string>();
        var ops = new List<TraceOp>();
        while (input.Next() is { } op)
        {
            ops.Add(op);
            lines.Add(input.LastLine);
        }
        IReadOnlySet<string> hostOnly = name == "-" ? new HashSet<string>() : LitmusHostOnly.Declared(File.ReadLines(name));
        return new LitmusTrace(name, lines, ops) { HostOnly = hostOnly };
    }
}
