using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Runtime.InteropServices;
using Kiov.Trace;
using Kiov.Trace.Fuzz;

namespace Kiov.Cli.Commands;

/// <summary><c>kiov fuzz [--seed N] [--ops N] [--runs N] [--out DIR] [--jobs N] [--shard K/N]
/// [--duration T]</c>: runs random traces on the model (in this process) and on the host kernel
/// (through persistent executors, kiov-exec), shrinks every divergence to a minimal trace written to DIR at once,
/// leaves a summary in DIR, and ends with <c>N passed, M failed</c> on standard output (exit 0 if
/// none failed, else 1; 130 after Ctrl-C, which stops it cleanly). <c>kiov fuzz --merge DIR...</c>
/// adds up the summaries of the shards of a campaign.</summary>
internal static class FuzzCommand
{
    /// <summary>Builds the <c>fuzz</c> command.</summary>
    public static Command Create()
    {
        var seed = new Option<ulong?>("--seed")
        {
            Description = "The session's seed (default: from the clock; printed on standard error)",
            CustomParser = r => ParseToken<ulong>(r, "--seed", t => ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v : null,
                $"a whole number from 0 to {ulong.MaxValue}"),
        };
        var ops = Positive("--ops", "Lines per trace", 200);
        var runs = Positive("--runs", "How many traces (in all shards together; default 100, or no limit with --duration)", 100);
        var outDir = new Option<string>("--out") { Description = "Where minimized divergences and the summary go (a writable directory)", DefaultValueFactory = _ => "fuzz-out" };
        var jobs = Positive("--jobs", "Runs at once", Environment.ProcessorCount);
        var shrink = Positive("--shrink-steps", "The most replays one shrink may make", 300);
        var shard = new Option<(int K, int N)?>("--shard")
        {
            Description = "K/N: run only shard K of N (runs i with i % N == K-1); the N shards together run the unsharded session's runs",
            CustomParser = r => ParseToken<(int, int)>(r, "--shard", ParseShard, "K/N with 1 <= K <= N, like 2/8"),
        };
        var duration = new Option<TimeSpan?>("--duration")
        {
            Description = "A time budget: no run starts after it (like 90s, 20m, 2h, or seconds)",
            CustomParser = r => ParseToken<TimeSpan>(r, "--duration", ParseDuration, "a time like 90s, 20m or 2h"),
        };
        var merge = new Option<string[]>("--merge")
        {
            Description = "Add up the summaries in the DIRs of a sharded campaign and print N passed, M failed",
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("fuzz", "Diff random traces between the model and the host kernel");
        foreach (Option option in new Option[] { seed, ops, runs, outDir, jobs, shrink, shard, duration, merge })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            TextWriter stdout = parse.InvocationConfiguration.Output, stderr = parse.InvocationConfiguration.Error;
            if (parse.GetValue(merge) is { Length: > 0 } dirs)
                return Merge(dirs, stdout, stderr);
            bool runsGiven = parse.GetResult(runs) is { Implicit: false };
            TimeSpan? budget = parse.GetValue(duration);
            var (k, n) = parse.GetValue(shard) ?? (1, 1);
            var options = new FuzzOptions(
                parse.GetValue(seed) ?? (ulong)DateTime.UtcNow.Ticks,
                parse.GetValue(ops),
                budget is not null && !runsGiven ? int.MaxValue : parse.GetValue(runs),
                parse.GetValue(outDir)!,
                parse.GetValue(jobs),
                parse.GetValue(shrink),
                k, n, budget,
                Processes: true);
            using var interrupt = new CtrlC();
            using var executors = new HostExecutorPool();
            return Run(options, executors.Replay, stdout, stderr, interrupt.Token);
        });
        return command;
    }

    /// <summary>Runs a fuzz session with the model in this process and <paramref name="host"/>:
    /// checks the output folder first, writes the summary file, prints the summary line.</summary>
    /// <param name="options">The settings.</param>
    /// <param name="host">Replays a trace on the host.</param>
    /// <param name="stdout">Where the summary line goes.</param>
    /// <param name="stderr">Where progress goes.</param>
    /// <param name="cancel">Ctrl-C.</param>
    /// <returns><see cref="ExitCodes.Ok"/> if every run agreed, else <see cref="ExitCodes.Differ"/>;
    /// <see cref="ExitCodes.Interrupted"/> after Ctrl-C; <see cref="ExitCodes.OutputError"/> if a
    /// divergence or the summary could not be written.</returns>
    public static int Run(FuzzOptions options, Func<IReadOnlyList<string>, TraceOutcome> host, TextWriter stdout, TextWriter stderr,
        CancellationToken cancel = default) =>
        ExitCodes.Guard(stderr, () =>
        {
            CheckOutDir(options.OutDir);
            var session = new FuzzSession(options, t => TraceOutcome.InProcess(t, () => Backends.CreateModel()), host, stderr);
            FuzzSummary summary = session.Run(cancel);
            string? summaryError = null;
            try
            {
                FuzzSummaryFile.Of(options, summary).Write(options.OutDir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                summaryError = $"fuzz: cannot write the summary in {options.OutDir}: {e.Message}";
            }
            stdout.Write(summary + "\n");
            stdout.Flush();
            if (summary.StoppedBy == "interrupted")
                throw new OperationCanceledException();
            if (summary.WriteErrors.Count > 0 || summaryError is not null)
            {
                int lost = summary.WriteErrors.Count;
                throw new OutputException(summaryError ?? $"fuzz: {lost} divergence{(lost == 1 ? "" : "s")} could not be written: {summary.WriteErrors[0]}");
            }
            return summary.Failed == 0 ? ExitCodes.Ok : ExitCodes.Differ;
        });

    /// <summary>Checks that <paramref name="dir"/> is (or can be made) a directory kiov can write in.</summary>
    /// <exception cref="ToolInputException">It is not.</exception>
    public static void CheckOutDir(string dir)
    {
        if (File.Exists(dir))
            throw new ToolInputException($"fuzz: --out {TraceException.Quote(dir)} is a file, not a directory");
        string probe = Path.Combine(dir, $".kiov-write-test-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ToolInputException($"fuzz: --out {TraceException.Quote(dir)} is not a directory kiov can write in: {e.Message}");
        }
    }

    /// <summary><c>kiov fuzz --merge DIR...</c>: adds up the summaries found in the DIRs, checking
    /// that they belong to one campaign, and prints <c>N passed, M failed</c>; says on standard
    /// error which shards are missing or stopped early.</summary>
    /// <param name="dirs">The output folders of the shards.</param>
    /// <param name="stdout">Where the sum goes.</param>
    /// <param name="stderr">Where a note on missing shards goes.</param>
    /// <returns>0 if none failed, else 1; 2 for a folder without summaries or summaries of different campaigns.</returns>
    public static int Merge(IReadOnlyList<string> dirs, TextWriter stdout, TextWriter stderr) =>
        ExitCodes.Guard(stderr, () =>
        {
            var summaries = new List<(string Path, FuzzSummaryFile Summary)>();
            foreach (string dir in dirs)
            {
                if (!Directory.Exists(dir))
                    throw new ToolInputException($"fuzz --merge: {TraceException.Quote(dir)} is not a directory");
                string[] files = Directory.GetFiles(dir, "summary*.json");
                if (files.Length == 0)
                    throw new ToolInputException($"fuzz --merge: {TraceException.Quote(dir)} holds no fuzz summary (summary*.json)");
                foreach (string file in files.Order(StringComparer.Ordinal))
                {
                    FuzzSummaryFile s = FuzzSummaryFile.Read(file, out string? problem)
                        ?? throw new ToolInputException($"fuzz --merge: {file}: {problem}");
                    summaries.Add((file, s));
                }
            }
            var first = summaries[0].Summary;
            var seen = new Dictionary<int, string>();
            foreach (var (path, s) in summaries)
            {
                if (s.Seed != first.Seed || s.Ops != first.Ops || s.Runs != first.Runs || s.Shards != first.Shards)
                    throw new ToolInputException($"fuzz --merge: {path} is from another campaign (seed {s.Seed}, {s.Ops} ops, {s.Shards} shards; {summaries[0].Path} has seed {first.Seed}, {first.Ops} ops, {first.Shards} shards)");
                if (!seen.TryAdd(s.Shard, path))
                    throw new ToolInputException($"fuzz --merge: shard {s.Shard}/{s.Shards} is given twice: {seen[s.Shard]} and {path}");
            }
            var missing = Enumerable.Range(1, first.Shards).Where(k => !seen.ContainsKey(k)).ToList();
            var stopped = summaries.Where(s => s.Summary.StoppedBy is not null).Select(s => $"{s.Summary.Shard} ({s.Summary.StoppedBy})").ToList();
            var notes = new List<string>();
            if (missing.Count > 0)
                notes.Add($"shard{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing)} of {first.Shards} missing");
            if (stopped.Count > 0)
                notes.Add($"shard{(stopped.Count == 1 ? "" : "s")} {string.Join(", ", stopped)} stopped early");
            if (notes.Count > 0)
                ExitCodes.Say(stderr, "fuzz --merge: " + string.Join("; ", notes));
            int passed = summaries.Sum(s => s.Summary.Passed), failed = summaries.Sum(s => s.Summary.Failed);
            stdout.Write(new FuzzSummary(passed, failed) + "\n");
            stdout.Flush();
            return failed == 0 ? ExitCodes.Ok : ExitCodes.Differ;
        });

    private static Option<int> Positive(string name, string description, int defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => ParseToken(r, name,
            t => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : (int?)null,
            $"a whole number from 1 to {int.MaxValue}"),
    };

    /// <summary>Parses an option's one token; a bad token is a parse error in words, quoting it.</summary>
    private static T ParseToken<T>(ArgumentResult r, string name, Func<string, T?> parse, string expected) where T : struct
    {
        string token = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        if (parse(token) is { } value)
            return value;
        r.AddError($"fuzz: {name} must be {expected}, not {TraceException.Quote(token)}");
        return default;
    }

    private static (int, int)? ParseShard(string text)
    {
        string[] parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            && k >= 1 && k <= n)
            return (k, n);
        return null;
    }

    private static TimeSpan? ParseDuration(string text)
    {
        if (text.Length == 0)
            return null;
        double unit = char.ToLowerInvariant(text[^1]) switch { 's' => 1, 'm' => 60, 'h' => 3600, _ => 0 };
        string number = unit == 0 ? text : text[..^1];
        if (unit == 0)
            unit = 1;
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)
            || value <= 0 || value * unit > TimeSpan.MaxValue.TotalSeconds / 2)
            return null;
        return TimeSpan.FromSeconds(value * unit);
    }

    /// <summary>Ctrl-C (SIGINT) and SIGTERM while fuzzing: the first cancels the session (it
    /// stops cleanly and sums up); a second ends kiov at once.</summary>
    private sealed class CtrlC : IDisposable
    {
        private readonly CancellationTokenSource _source = new();
        private readonly PosixSignalRegistration _int, _term;

        public CtrlC()
        {
            _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
            _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
        }

        public CancellationToken Token => _source.Token;

        private void Handle(PosixSignalContext context)
        {
            if (_source.IsCancellationRequested)
                return; // the default action: end now
            context.Cancel = true;
            _source.Cancel();
        }

        public void Dispose()
        {
            _int.Dispose();
            _term.Dispose();
            _source.Dispose();
        }
    }
}
