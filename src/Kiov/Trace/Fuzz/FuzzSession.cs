using System.Diagnostics;
using System.Globalization;

namespace Kiov.Trace.Fuzz;

/// <summary>The settings of a fuzz session.</summary>
/// <param name="Seed">The session's seed; run <c>i</c> uses <see cref="FuzzRandom.ForRun"/>.</param>
/// <param name="Ops">Lines per generated trace.</param>
/// <param name="Runs">How many traces.</param>
/// <param name="OutDir">Where minimized failing traces go.</param>
/// <param name="Jobs">How many runs at once.</param>
/// <param name="MaxShrinkSteps">The most test replays one shrink may make.</param>
/// <param name="Processes">Whether traces fork, exit and name other processes (fork, exit, pid, target, mem_*).</param>
public sealed record FuzzOptions(ulong Seed, int Ops, int Runs, string OutDir, int Jobs, int MaxShrinkSteps = 300, bool Processes = false);

/// <summary>How a fuzz session ended.</summary>
/// <param name="Passed">Runs on which the two back ends agreed.</param>
/// <param name="Failed">Runs on which they did not (or one failed to run the trace).</param>
public sealed record FuzzSummary(int Passed, int Failed)
{
    /// <summary>The summary line: <c>N passed, M failed</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Passed} passed, {Failed} failed");
}

/// <summary>
/// Runs generated traces on two back ends (the model and the host) and compares what they print
/// line by line. A run that disagrees is shrunk (<see cref="TraceShrinker"/>) and written to
/// <see cref="FuzzOptions.OutDir"/> as <c>divergence-SEED-RUN.jsonl</c>, with what each side
/// printed for it beside it (<c>.model.jsonl</c>, <c>.host.jsonl</c>).
/// </summary>
/// <param name="options">The settings.</param>
/// <param name="model">Replays a trace on the model.</param>
/// <param name="host">Replays a trace on the host (in a process of its own).</param>
/// <param name="progress">Where progress lines go (standard error).</param>
public sealed class FuzzSession(FuzzOptions options, Func<IReadOnlyList<string>, TraceOutcome> model,
    Func<IReadOnlyList<string>, TraceOutcome> host, TextWriter progress)
{
    private readonly object _progressLock = new();
    private int _done;
    private int _failed;

    /// <summary>Runs every run, <see cref="FuzzOptions.Jobs"/> at a time.</summary>
    public FuzzSummary Run()
    {
        var clock = Stopwatch.StartNew();
        Say($"fuzz: seed {options.Seed}, {options.Runs} runs of {options.Ops} ops, {options.Jobs} jobs");
        int every = Math.Max(1, options.Runs / 20);
        Parallel.For(0, options.Runs, new ParallelOptions { MaxDegreeOfParallelism = options.Jobs }, run =>
        {
            bool ok = RunOne(run);
            if (!ok) Interlocked.Increment(ref _failed);
            int done = Interlocked.Increment(ref _done);
            if (done % every == 0 || done == options.Runs)
                Say(string.Create(CultureInfo.InvariantCulture,
                    $"fuzz: {done}/{options.Runs} runs, {Volatile.Read(ref _failed)} failed, {clock.Elapsed.TotalSeconds:F1} s"));
        });
        return new FuzzSummary(options.Runs - _failed, _failed);
    }

    /// <summary>Generates run <paramref name="run"/>'s trace, runs it on both sides and, if they
    /// disagree, shrinks it and writes it out.</summary>
    /// <param name="run">The 0-based run index.</param>
    /// <returns>Whether the two sides agreed.</returns>
    public bool RunOne(int run)
    {
        List<string> trace = TraceGenerator.Generate(FuzzRandom.ForRun(options.Seed, run), options.Ops, options.Processes);
        var (m, h) = Both(trace);
        if (Verdict.Of(m, h) is not { } failure)
            return true;
        string name = string.Create(CultureInfo.InvariantCulture, $"divergence-{options.Seed}-{run}");
        Say($"fuzz: run {run} fails ({failure.Describe(m, h)}); shrinking");
        IReadOnlyList<string> small = trace;
        int steps = 0;
        if (failure.Shrinkable)
        {
            // Lines after the first difference cannot change what came before it.
            List<string> cut = trace.GetRange(0, Math.Min(trace.Count, failure.Line + 1));
            if (failure.StillFails(Both(cut)))
                small = cut;
            var result = TraceShrinker.Shrink(small, t => failure.StillFails(Both(t)), options.MaxShrinkSteps);
            small = result.Lines;
            steps = result.Steps;
        }
        var (sm, sh) = Both(small);
        Directory.CreateDirectory(options.OutDir);
        string path = Path.Combine(options.OutDir, name);
        File.WriteAllText(path + ".jsonl", string.Concat(small.Select(l => l + "\n")));
        File.WriteAllText(path + ".model.jsonl", sm.ToText());
        File.WriteAllText(path + ".host.jsonl", sh.ToText());
        Say($"fuzz: run {run}: {trace.Count} lines shrunk to {small.Count} in {steps} steps: {path}.jsonl");
        return false;
    }

    private (TraceOutcome Model, TraceOutcome Host) Both(IReadOnlyList<string> trace)
    {
        var hostRun = Task.Run(() => host(trace));
        TraceOutcome m = model(trace);
        return (m, hostRun.GetAwaiter().GetResult());
    }

    private void Say(string line)
    {
        lock (_progressLock)
        {
            progress.WriteLine(line);
            progress.Flush();
        }
    }

    /// <summary>Why a run failed, and the test a smaller trace must pass to fail the same way.</summary>
    private sealed record Verdict(int Line, string? ModelCrash, bool Shrinkable)
    {
        public static Verdict? Of(TraceOutcome m, TraceOutcome h)
        {
            if (!h.Completed)
                return new Verdict(h.Lines.Count, null, Shrinkable: false);
            int? line = TraceOutcome.FirstDifference(m, h);
            if (!m.Completed && (line is null || line >= m.Lines.Count))
                return new Verdict(m.Lines.Count, Kind(m.Failure!), Shrinkable: true);
            return line is { } l ? new Verdict(l, null, Shrinkable: true) : null;
        }

        // A crash is shrunk as the same kind of crash; a divergence as any divergence between two
        // complete replays (a trace error or a crash is not kept).
        public bool StillFails((TraceOutcome Model, TraceOutcome Host) o) =>
            o.Host.Completed && (ModelCrash is null
                ? o.Model.Completed && TraceOutcome.FirstDifference(o.Model, o.Host) is not null
                : !o.Model.Completed && Kind(o.Model.Failure!) == ModelCrash);

        public string Describe(TraceOutcome m, TraceOutcome h) =>
            !h.Completed ? $"the host replay failed: {h.Failure}"
            : ModelCrash is not null ? $"the model {m.Failure} at line {Line + 1}"
            : $"line {Line + 1}: model {At(m)}, host {At(h)}";

        private string At(TraceOutcome o) => Line < o.Lines.Count ? o.Lines[Line] : "nothing";

        private static string Kind(string failure) => string.Join(':', failure.Split(':').Take(2));
    }
}
