using Kiov.Concurrency;

namespace Kiov.Trace;

/// <summary>One outcome of a litmus test: every line printed from the first <c>par</c> line on,
/// each ended by <c>\n</c>, and the first schedule that produced it.</summary>
/// <param name="Lines">The printed lines, from the first par line on.</param>
/// <param name="Schedule">A schedule that produces it (<see cref="Concurrency.Schedule.Format"/>).</param>
/// <param name="Count">How many runs produced it.</param>
internal sealed record LitmusOutcome(string Lines, string Schedule, int Count);

/// <summary>What the model allows for a litmus test.</summary>
/// <param name="Outcomes">Each distinct outcome, in the order first reached.</param>
/// <param name="Runs">Schedules run.</param>
/// <param name="Complete">True when every schedule was searched (up to the reduction); false when
/// the run budget stopped the search.</param>
/// <param name="Stuck">Schedules on which the threads could not all finish, with one of them.</param>
/// <param name="Failure">A thread that threw on some schedule (a model bug), with that schedule.</param>
internal sealed record LitmusModelResult(IReadOnlyList<LitmusOutcome> Outcomes, int Runs, bool Complete,
    (int Count, string Schedule, string Why) Stuck, (string Schedule, Exception Error)? Failure);

/// <summary>
/// Runs a litmus test (a trace with <c>par</c> lines) on the model under every schedule the
/// <see cref="Explorer"/> yields, each run from the first line on a fresh machine, and gathers the
/// distinct outcomes. If the budget runs out first, seeded random schedules are tried too, and the
/// result says the set is what was reached within the bound.
/// </summary>
internal static class LitmusModel
{
    /// <summary>Physical memory of each litmus run's machine: room for the runner's 1 MiB chunk and a few
    /// hundred pages a test maps.</summary>
    public const long LitmusMemoryBytes = 16L << 20;

    /// <summary>The index of the first <c>par</c> op, or -1.</summary>
    /// <param name="ops">The trace.</param>
    public static int FirstPar(IReadOnlyList<TraceOp> ops)
    {
        for (int i = 0; i < ops.Count; i++) if (ops[i] is ParOp) return i;
        return -1;
    }

    /// <summary>Explores <paramref name="ops"/>.</summary>
    /// <param name="ops">The trace; it must hold a par line.</param>
    /// <param name="maxRuns">The most exhaustive runs before falling back to random ones.</param>
    /// <param name="randomRuns">Random runs to add when the exhaustive search is cut short.</param>
    /// <param name="seed">The first random seed.</param>
    /// <param name="stopOnFailure">Stop at the first schedule where a thread throws.</param>
    /// <param name="config">The model's kernel; null for the running kernel with this machine's
    /// <see cref="ProcLimits"/>. A comparison with the host passes the host's settings (its zero page).</param>
    public static LitmusModelResult Explore(IReadOnlyList<TraceOp> ops, int maxRuns = 20_000, int randomRuns = 2_000, int seed = 1,
        bool stopOnFailure = true, KernelConfig? config = null)
    {
        int first = FirstPar(ops);
        if (first < 0) throw new ArgumentException("the trace has no par line: it is not a litmus test");
        var outcomes = new Dictionary<string, LitmusOutcome>();
        var order = new List<string>();
        var explorer = new Explorer();
        int runs = 0, stuck = 0;
        string stuckSchedule = "", stuckWhy = "";
        (string, Exception)? failure = null;
        void One(SchedulePolicy policy, string prefix)
        {
            runs++;
            RunOutcome r = RunOnce(ops, first, policy, config);
            string schedule = prefix + Schedule.Format(policy.Choices);
            if (r.Error is ParStuckException s)
            {
                if (stuck++ == 0) { stuckSchedule = schedule; stuckWhy = s.Message; }
                return;
            }
            if (r.Error != null) { failure ??= (schedule, r.Error); return; }
            if (outcomes.TryGetValue(r.Lines, out LitmusOutcome? o)) outcomes[r.Lines] = o with { Count = o.Count + 1 };
            else { outcomes[r.Lines] = new LitmusOutcome(r.Lines, schedule, 1); order.Add(r.Lines); }
        }
        // The sequential schedules first (each thread whole, in every order, up to 4 threads): a search
        // cut short still holds the outcomes every model must allow.
        int threads = ((ParOp)ops[first]).Threads.Count;
        if (threads <= 4)
            foreach (int[] sequence in Permutations(threads))
            {
                One(new SequentialPolicy(sequence), "");
                if (failure != null && stopOnFailure) break;
            }
        while (explorer.Runs < maxRuns && explorer.NextRun() is { } policy)
        {
            One(policy, "");
            if (failure != null && stopOnFailure) break;
        }
        bool complete = explorer.Finished || (explorer.Runs >= maxRuns && explorer.NextRun() == null);
        if (!complete && (failure == null || !stopOnFailure))
        {
            for (int i = 0; i < randomRuns; i++)
            {
                var policy = new RandomPolicy(seed + i);
                One(policy, $"seed {seed + i}: ");
                if (failure != null && stopOnFailure) break;
            }
        }
        var list = order.Select(k => outcomes[k]).ToList();
        return new LitmusModelResult(list, runs, complete, (stuck, stuckSchedule, stuckWhy), failure);
    }

    /// <summary>Every order of <c>0 … n-1</c>.</summary>
    /// <param name="n">How many.</param>
    public static IEnumerable<int[]> Permutations(int n)
    {
        if (n <= 1) { yield return [.. Enumerable.Range(0, n)]; yield break; }
        foreach (int[] p in Permutations(n - 1))
            for (int at = 0; at < n; at++)
                yield return [.. p[..at], n - 1, .. p[at..]];
    }

    /// <summary>The outcome of one run under <paramref name="policy"/>, or null if the threads threw or
    /// could not finish.</summary>
    /// <param name="ops">The test.</param>
    /// <param name="policy">The schedule.</param>
    /// <param name="config">The model's kernel, as for <see cref="Explore"/>.</param>
    internal static string? RunWith(IReadOnlyList<TraceOp> ops, SchedulePolicy policy, KernelConfig? config = null)
    {
        RunOutcome r = RunOnce(ops, FirstPar(ops), policy, config);
        return r.Error == null ? r.Lines : null;
    }

    private readonly record struct RunOutcome(string Lines, Exception? Error);

    private static RunOutcome RunOnce(IReadOnlyList<TraceOp> ops, int first, SchedulePolicy policy, KernelConfig? config)
    {
        ParOp.ModelPolicy = policy;
        try
        {
            using var sys = new ModelSyscalls(config, LitmusMemoryBytes);
            using var processes = new TraceProcesses(sys); // fork (in a par thread too) and pid, as a replay
            using var w = new StringWriter();
            for (int i = 0; i < ops.Count; i++)
            {
                string line = processes.Run(ops[i]).ToJson();
                if (i >= first) { w.Write(line); w.Write('\n'); }
            }
            return new RunOutcome(w.ToString(), null);
        }
        catch (Exception e) when (e is ParStuckException or ParThreadException or KiovBugException)
        {
            return new RunOutcome("", e);
        }
        finally
        {
            ParOp.ModelPolicy = null;
        }
    }
}
