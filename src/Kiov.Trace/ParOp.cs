using System.Runtime.InteropServices;
using System.Text.Json;
using Kiov.Concurrency;

namespace Kiov.Trace;

/// <summary>
/// <c>par</c> (docs/trace-format.md, "Threads: litmus lines"): one thread per list of ops in the trace's process,
/// released together. On the model the threads run under a <see cref="Controller"/>, whose policy is
/// <see cref="ModelPolicy"/> (set by whoever explores the test) or, when none is set, each thread in
/// turn until it blocks; on the host they are real threads released from a barrier, one CPU each
/// where there are several, each making its calls on a thread of the executor of its own
/// (<see cref="IThreadedSyscalls"/>, the host back end's <c>HostSyscalls.OpenThreads</c>), so that their system calls overlap in the kernel. Prints <c>{"ret":0,"results":[[…],…]}</c>.
/// </summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Threads">Each thread's ops, in order.</param>
internal sealed record ParOp(int Line, IReadOnlyList<IReadOnlyList<TraceOp>> Threads) : TraceOp(Line)
{
    /// <summary>How long a host par line may run before it is called hung.</summary>
    public static readonly TimeSpan HostTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The policy the model's threads run under on this thread; null: each thread in turn.</summary>
    [field: ThreadStatic] internal static SchedulePolicy? ModelPolicy { get; set; }

    /// <summary>Runs each thread's ops and returns their results (with no process table, a <c>fork</c>
    /// inside is a trace error).</summary>
    /// <param name="sys">The back end.</param>
    public override TraceResult Run(ISyscalls sys) => RunThreads(sys, null);

    /// <summary>Runs each thread's ops, a <c>fork</c> among them giving its child the lowest free
    /// trace pid of <paramref name="processes"/>, and returns their results.</summary>
    /// <param name="sys">The back end.</param>
    /// <param name="processes">The trace's processes.</param>
    public override TraceResult Run(ISyscalls sys, TraceProcesses processes) => RunThreads(sys, processes);

    private TraceResult RunThreads(ISyscalls sys, TraceProcesses? processes)
    {
        var results = Threads.Select(t => new TraceResult[t.Count]).ToArray();
        if (sys is ModelSyscalls model)
        {
            model.ReadyThreads(Threads.Count);
            RunModel(Bodies(_ => sys, results, serialize: false, processes));
            return new TraceResult(0, Threads: results);
        }
        // On the host each thread makes its calls on a thread of the executor of its own, so the
        // calls overlap in the kernel. A back end that cannot give threads (no executor) has one
        // channel and one scratch buffer, which an op uses between its calls: there each op runs
        // whole, and the threads interleave at op boundaries only.
        using IParThreads? group = (sys as IThreadedSyscalls)?.OpenThreads(Threads.Count);
        RunHost(Bodies(i => group?.Views[i] ?? sys, results, serialize: group is null, processes), group);
        return new TraceResult(0, Threads: results);
    }

    private Action[] Bodies(Func<int, ISyscalls> backEnd, TraceResult[][] results, bool serialize, TraceProcesses? processes) =>
        [.. Threads.Select((ops, i) => (Action)(() =>
        {
            ISyscalls own = backEnd(i);
            for (int j = 0; j < ops.Count; j++)
            {
                if (serialize) { lock (own) results[i][j] = RunOne(ops[j], own, processes); }
                else results[i][j] = RunOne(ops[j], own, processes);
            }
        }))];

    // A fork in a thread forks the process from that thread (on the host, from the executor thread
    // that serves it: the child is a copy with that one thread); the table of pids takes one fork at a time.
    private static TraceResult RunOne(TraceOp op, ISyscalls own, TraceProcesses? processes)
    {
        if (op is not ForkOp || processes is null) return op.Run(own);
        Sched.Lock(processes);
        lock (processes) return op.Run(own, processes);
    }

    private void RunModel(Action[] bodies)
    {
        var controller = new Controller(ModelPolicy ?? new ReplayPolicy());
        RunStatus status = controller.Run(bodies);
        foreach (ModelThread t in controller.Threads)
            if (t.Error is { } e) throw new ParThreadException(Line, t.Index, e);
        if (status != RunStatus.Completed)
            throw new ParStuckException(Line, status, controller.Threads.Where(t => !t.Done).Select(t => t.Pending).ToList());
    }

    // Real threads, one CPU each where there are several, released together (HostCrew); a line
    // still running after HostTimeout is hung: the executor is given up, which ends its threads' calls.
    private void RunHost(Action[] bodies, IParThreads? group)
    {
        var errors = new Exception?[bodies.Length];
        Action[] guarded = [.. bodies.Select((body, i) => (Action)(() =>
        {
            try { body(); } catch (Exception e) { errors[i] = e; }
        }))];
        if (!HostCrew.Rent(bodies.Length).Run(guarded, HostTimeout))
        {
            string hung = $"the threads did not finish within {HostTimeout.TotalSeconds} s on the host";
            group?.GiveUp($"line {Line}: {hung}");
            throw new TraceException(Line, hung);
        }
        foreach (Exception? e in errors) if (e != null) throw new AggregateException(e);
    }

    /// <summary>Reads <c>threads</c>: a non-empty list of lists of ops, none of them a <c>par</c> or an <c>exit</c> or carrying <c>pid</c>.</summary>
    internal static ParOp Parse(TraceFields f, Func<JsonElement, TraceOp> parseOp)
    {
        JsonElement threads = f.Required("threads");
        if (threads.ValueKind != JsonValueKind.Array) throw f.Error("\"threads\" must be a list of lists of ops");
        if (threads.GetArrayLength() == 0) throw f.Error("\"threads\" is empty: a par line needs at least one thread");
        if (threads.GetArrayLength() > 64) throw f.Error("\"threads\" has more than 64 threads");
        var lists = new List<IReadOnlyList<TraceOp>>();
        foreach (JsonElement list in threads.EnumerateArray())
        {
            if (list.ValueKind != JsonValueKind.Array) throw f.Error("each thread in \"threads\" must be a list of ops");
            var ops = new List<TraceOp>();
            foreach (JsonElement op in list.EnumerateArray())
            {
                if (op.ValueKind != JsonValueKind.Object) throw f.Error("each op in a thread must be a JSON object");
                string name = op.TryGetProperty("op", out JsonElement n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
                if (name is "par" or "exit") throw f.Error($"a \"{name}\" op cannot be inside par (thread {lists.Count})");
                if (op.TryGetProperty("pid", out _)) throw f.Error($"an op inside par cannot carry \"pid\" (thread {lists.Count})");
                ops.Add(parseOp(op));
            }
            lists.Add(ops);
        }
        return new ParOp(f.Line, lists);
    }
}

/// <summary>A thread of a model par line threw: a bug of the model, found on one schedule.</summary>
/// <param name="line">The par line.</param>
/// <param name="thread">The thread's index.</param>
/// <param name="inner">What it threw.</param>
internal sealed class ParThreadException(int line, int thread, Exception inner)
    : Exception($"line {line}: thread {thread} threw {inner.GetType().Name}: {inner.Message}", inner)
{
    /// <summary>The par line.</summary>
    public int Line => line;
}

/// <summary>A model par line whose threads could not all finish on the schedule run: a deadlock
/// (each waits for another), the step bound, or a wait the scheduler was not told of.</summary>
/// <param name="line">The par line.</param>
/// <param name="status">How the run ended.</param>
/// <param name="stuck">Where each unfinished thread stood.</param>
internal sealed class ParStuckException(int line, RunStatus status, IReadOnlyList<Step> stuck)
    : Exception($"line {line}: the threads did not finish ({status}): {stuck.Count} stuck at {string.Join(", ", stuck)}")
{
    /// <summary>The par line.</summary>
    public int Line => line;

    /// <summary>How the run ended.</summary>
    public RunStatus Status => status;
}

internal static partial class HostAffinity
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nint size, ref ulong mask);

    /// <summary>Pins the calling thread to <paramref name="cpu"/> (best effort).</summary>
    public static void Pin(int cpu)
    {
        if (!OperatingSystem.IsLinux() || cpu >= 64) return;
        ulong mask = 1UL << cpu;
        _ = sched_setaffinity(0, sizeof(ulong), ref mask);
    }
}
