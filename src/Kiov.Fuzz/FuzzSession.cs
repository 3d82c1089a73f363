using System.Diagnostics;
using System.Globalization;

namespace Kiov.Trace.Fuzz;

/// <summary>The settings of a fuzz session.</summary>
/// <param name="Seed">The session's seed; run <c>i</c> uses <see cref="FuzzRandom.ForRun"/>.</param>
/// <param name="Ops">Lines per generated trace.</param>
/// <param name="Runs">How many traces in the whole campaign (all shards together).</param>
/// <param name="OutDir">Where minimized failing traces and the summary go.</param>
/// <param name="Jobs">How many runs at once.</param>
/// <param name="MaxShrinkSteps">The most test replays one shrink may make.</param>
/// <param name="Shard">This session's shard, 1 to <paramref name="Shards"/>: it runs the runs
/// <c>i</c> with <c>i % Shards == Shard - 1</c>, so the shards of a campaign together run exactly
/// the runs of one unsharded session, each with the same trace.</param>
/// <param name="Shards">How many shards the campaign is split into.</param>
/// <param name="Duration">A time budget: no run starts after it is spent (null: none).</param>
/// <param name="Processes">Whether traces fork, exit and name other processes (fork, exit, pid, target, mem_*).</param>
internal sealed record FuzzOptions(ulong Seed, int Ops, int Runs, string OutDir, int Jobs, int MaxShrinkSteps = 300,
    int Shard = 1, int Shards = 1, TimeSpan? Duration = null, bool Processes = false)
{
    /// <summary>How many runs this shard holds.</summary>
    public int ShardRuns => Runs / Shards + (Shard - 1 < Runs % Shards ? 1 : 0);

    /// <summary>The campaign-wide index of this shard's <paramref name="k"/>-th run.</summary>
    /// <param name="k">0 to <see cref="ShardRuns"/> - 1.</param>
    public int RunIndex(int k) => Shard - 1 + k * Shards;
}

/// <summary>How a fuzz session ended.</summary>
/// <param name="Passed">Runs on which the two back ends agreed.</param>
/// <param name="Failed">Runs on which they did not (or one failed to run the trace).</param>
internal sealed record FuzzSummary(int Passed, int Failed)
{
    /// <summary>Why the session stopped before its last run: <c>interrupted</c> (Ctrl-C),
    /// <c>duration</c> (the time budget), or null when it ran them all.</summary>
    public string? StoppedBy { get; init; }

    /// <summary>The divergence files written (names in the output folder).</summary>
    public IReadOnlyList<string> Divergences { get; init; } = [];

    /// <summary>Divergences that could not be written (a full disk): one message each.</summary>
    public IReadOnlyList<string> WriteErrors { get; init; } = [];

    /// <summary>The summary line: <c>N passed, M failed</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Passed} passed, {Failed} failed");
}

/// <summary>
/// Runs generated traces on two back ends (the model and the host) and compares what they print
/// line by line. A run that disagrees is shrunk (<see cref="TraceShrinker"/>) and written at once
/// to <see cref="FuzzOptions.OutDir"/> as <c>divergence-SEED-RUN.jsonl</c>, with what each side
/// printed for it beside it (<c>.model.jsonl</c>, <c>.host.jsonl</c>). Progress goes to
/// <paramref name="progress"/> every <see cref="ProgressInterval"/>: runs done, ops per second,
/// failures so far, time left. Cancelling stops it cleanly: no run starts, a run under way whose
/// replays were cut short is not counted, a divergence already found is kept (its shrink cut short).
/// </summary>
/// <param name="options">The settings.</param>
/// <param name="model">Replays a trace on the model.</param>
/// <param name="host">Replays a trace on the host (in a process of its own).</param>
/// <param name="progress">Where progress lines go (standard error).</param>
internal sealed class FuzzSession(FuzzOptions options, Func<IReadOnlyList<string>, TraceOutcome> model,
    Func<IReadOnlyList<string>, TraceOutcome> host, TextWriter progress)
{
    /// <summary>How often progress is printed.</summary>
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    private readonly object _progressLock = new();
    private readonly List<string> _divergences = [];   // guarded by itself
    private readonly List<string> _writeErrors = [];   // guarded by _divergences
    private readonly Stopwatch _clock = new();
    private CancellationToken _cancel;
    private int _done;
    private int _failed;
    private int _modelLimited;

    private enum RunResult { Passed, Failed, NotCounted, ModelLimit }

    /// <summary>Runs this shard's runs, <see cref="FuzzOptions.Jobs"/> at a time, until they are
    /// done, the time budget is spent or <paramref name="cancel"/> is cancelled.</summary>
    /// <param name="cancel">Ctrl-C.</param>
    public FuzzSummary Run(CancellationToken cancel = default)
    {
        _cancel = cancel;
        _clock.Start();
        int planned = options.ShardRuns;
        string shard = options.Shards > 1 ? $", shard {options.Shard}/{options.Shards}" : "";
        string budget = options.Duration is { } d ? $", for at most {Time(d)}" : "";
        string runs = options.Runs == int.MaxValue ? "runs" : $"{planned} runs";
        Say($"fuzz: seed {options.Seed}, {runs} of {options.Ops} ops{shard}{budget}, {options.Jobs} jobs");
        string? stoppedBy = null;
        using (var timer = new Timer(_ => Progress(planned), null, ProgressInterval, ProgressInterval))
        {
            Parallel.For(0, planned, new ParallelOptions { MaxDegreeOfParallelism = options.Jobs }, (k, state) =>
            {
                if (cancel.IsCancellationRequested || OutOfTime())
                {
                    state.Stop();
                    return;
                }
                RunResult result = RunOne(options.RunIndex(k), out _);
                if (result == RunResult.ModelLimit)
                    Interlocked.Increment(ref _modelLimited);
                if (result is RunResult.NotCounted or RunResult.ModelLimit)
                    return;
                if (result == RunResult.Failed)
                    Interlocked.Increment(ref _failed);
                Interlocked.Increment(ref _done);
            });
        }
        if (Volatile.Read(ref _done) + _modelLimited < planned)
            stoppedBy = cancel.IsCancellationRequested ? "interrupted" : "duration";
        Progress(planned);
        lock (_divergences)
        {
            return new FuzzSummary(_done - _failed, _failed)
            {
                StoppedBy = stoppedBy,
                Divergences = [.. _divergences.Order(StringComparer.Ordinal)],
                WriteErrors = [.. _writeErrors],
            };
        }
    }

    private bool OutOfTime() => options.Duration is { } d && _clock.Elapsed >= d;

    private void Progress(int planned)
    {
        int done = Volatile.Read(ref _done), failed = Volatile.Read(ref _failed);
        double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        double opsPerSecond = (double)done * options.Ops / seconds;
        string left;
        TimeSpan? budgetLeft = options.Duration is { } d ? d - _clock.Elapsed : null;
        if (done + Volatile.Read(ref _modelLimited) >= planned)
            left = "done";
        else if (done == 0)
            left = budgetLeft is { } b ? $"at most {Time(b)} left" : "time left unknown";
        else
        {
            var estimate = TimeSpan.FromSeconds(seconds / done * (planned - done));
            if (budgetLeft is { } b && b < estimate)
                estimate = b;
            left = $"about {Time(estimate)} left";
        }
        string of = planned == int.MaxValue ? "" : $"/{planned}";
        Say(string.Create(CultureInfo.InvariantCulture,
            $"fuzz: {done}{of} runs, {failed} failed, {opsPerSecond:N0} ops/s, {seconds:F1} s, {left}"));
    }

    private static string Time(TimeSpan t)
    {
        if (t < TimeSpan.Zero)
            t = TimeSpan.Zero;
        return t.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:D2}m")
            : t.TotalMinutes >= 1
                ? string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}m{t.Seconds:D2}s")
                : string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(t.TotalSeconds):F0}s");
    }

    /// <summary>Generates run <paramref name="run"/>'s trace, runs it on both sides and, if they
    /// disagree, shrinks it and writes it out.</summary>
    /// <param name="run">The 0-based run index.</param>
    /// <returns>Whether the two sides agreed.</returns>
    public bool RunOne(int run) => RunOne(run, out _) != RunResult.Failed;

    private RunResult RunOne(int run, out string? path)
    {
        path = null;
        List<string> trace = TraceGenerator.Generate(FuzzRandom.ForRun(options.Seed, run), options.Ops, options.Processes);
        var (m, h) = Both(trace);
        if (_cancel.IsCancellationRequested && !(m.Completed && h.Completed))
            return RunResult.NotCounted; // a replay cut short by Ctrl-C says nothing
        if (Verdict.Of(m, h) is not { } failure)
            return RunResult.Passed;
        if (m.OutOfMemoryAt is { } limit && failure.Line >= limit)
        {
            Say($"fuzz: run {run}: the model ran out of physical memory at line {limit + 1}: its limit, not a divergence; not counted");
            return RunResult.ModelLimit;
        }
        string name = string.Create(CultureInfo.InvariantCulture, $"divergence-{options.Seed}-{run}");
        Say($"fuzz: run {run} fails ({failure.Describe(m, h)}); shrinking");
        IReadOnlyList<string> small = trace;
        int steps = 0;
        if (failure.Shrinkable)
        {
            // Lines after the first difference cannot change what came before it.
            bool StillFails(IReadOnlyList<string> t) => !_cancel.IsCancellationRequested && failure.StillFails(Both(t));
            List<string> cut = trace.GetRange(0, Math.Min(trace.Count, failure.Line + 1));
            if (StillFails(cut))
                small = cut;
            var result = TraceShrinker.Shrink(small, StillFails, options.MaxShrinkSteps);
            small = result.Lines;
            steps = result.Steps;
        }
        var (sm, sh) = small == trace ? (m, h) : Both(small);
        path = Path.Combine(options.OutDir, name);
        try
        {
            Directory.CreateDirectory(options.OutDir);
            File.WriteAllText(path + ".jsonl", string.Concat(small.Select(l => l + "\n")));
            File.WriteAllText(path + ".model.jsonl", sm.ToText());
            File.WriteAllText(path + ".host.jsonl", sh.ToText());
            lock (_divergences)
                _divergences.Add(name + ".jsonl");
            Say($"fuzz: run {run}: {trace.Count} lines shrunk to {small.Count} in {steps} steps: {path}.jsonl");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = $"cannot write {path}.jsonl: {e.Message}";
            lock (_divergences)
                _writeErrors.Add(why);
            Say($"fuzz: run {run}: {why}; the trace is run {run} of seed {options.Seed}, {options.Ops} ops");
        }
        return RunResult.Failed;
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
            try
            {
                progress.WriteLine(line);
                progress.Flush();
            }
            catch (IOException)
            {
                // Progress is best effort: a full or closed standard error must not end the session.
            }
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
