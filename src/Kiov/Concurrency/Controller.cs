namespace Kiov.Concurrency;

/// <summary>How a controlled run of threads ended.</summary>
internal enum RunStatus
{
    /// <summary>Every thread finished.</summary>
    Completed,

    /// <summary>No thread could run, and some had not finished: each waits for another.</summary>
    Deadlock,

    /// <summary>The run took more steps than the controller's bound (a livelock, or too big a test).</summary>
    StepBound,

    /// <summary>A thread blocked where no hook tells the controller (a wait it does not know of).</summary>
    Hung,
}

/// <summary>
/// Runs a set of thread bodies one step at a time: each body runs on a real thread, but only the
/// thread the <see cref="SchedulePolicy"/> picks runs, from one <see cref="Sched"/> point to the next.
/// A thread is not runnable while it waits for a lock another holds, waits on a monitor no one has
/// pulsed, or waits in a grace period nothing has moved; when none is runnable and some have not
/// finished, the run is a deadlock and the threads are unwound.
/// </summary>
/// <param name="policy">Who runs at each step.</param>
/// <param name="stepBound">The most steps a run may take.</param>
internal sealed class Controller(SchedulePolicy policy, int stepBound = 200_000)
{
    /// <summary>How long a thread may take between two points before the run is called hung.</summary>
    public static readonly TimeSpan HangTimeout = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _back = new(0);
    private readonly Dictionary<object, long> _lastTouch = new(ReferenceEqualityComparer.Instance);
    private readonly List<ModelThread> _enabled = [];
    private List<ModelThread> _threads = [];
    private volatile bool _aborting;

    internal bool Aborting => _aborting;

    internal List<object> Locks { get; } = [];

    /// <summary>Fixes turned off for this controller's threads (tests only).</summary>
    public RaceFix FixesOff { get; init; }

    /// <summary>When set, each step taken (the thread and where it stood) is added to it.</summary>
    public List<(int Thread, Step Step)>? Log { get; init; }

    /// <summary>Steps taken so far (turns handed to a thread).</summary>
    public long StepCount { get; private set; }

    /// <summary>The threads of the current run.</summary>
    public IReadOnlyList<ModelThread> Threads => _threads;

    /// <summary>Runs <paramref name="bodies"/>, one thread each, to the end or until none can run.</summary>
    /// <param name="bodies">The threads' code.</param>
    /// <returns>How the run ended; each thread's <see cref="ModelThread.Error"/> says what it threw.</returns>
    public RunStatus Run(IReadOnlyList<Action> bodies)
    {
        _threads = [.. bodies.Select((b, i) => new ModelThread(this, i, b))];
        Interlocked.Increment(ref Sched.s_attached);
        try
        {
            foreach (ModelThread t in _threads) t.Start();
            return Loop();
        }
        finally
        {
            Interlocked.Decrement(ref Sched.s_attached);
        }
    }

    private RunStatus Loop()
    {
        while (true)
        {
            _enabled.Clear();
            foreach (ModelThread t in _threads) if (IsEnabled(t)) _enabled.Add(t);
            if (_enabled.Count == 0)
                return _threads.All(t => t.Done) ? RunStatus.Completed : Abort(RunStatus.Deadlock);
            if (StepCount >= stepBound) return Abort(RunStatus.StepBound);
            ModelThread next = policy.Pick(_enabled, _threads);
            if (!_enabled.Contains(next)) throw new InvalidOperationException($"the policy picked thread {next.Index}, which cannot run");
            StepCount++;
            Log?.Add((next.Index, next.Pending));
            if (next.Pending.Obj is { } obj) _lastTouch[obj] = StepCount;
            next.Resume();
            if (!_back.Wait(HangTimeout)) return Abort(RunStatus.Hung);
        }
    }

    private bool IsEnabled(ModelThread t)
    {
        if (t.Done || t.WaitingOn != null) return false;
        if (t.SpinningOn is { } on)
            return (_lastTouch.TryGetValue(on, out long at) && at > t.SpinMark) || _threads.All(o => o == t || o.Done);
        if (t.Pending.Kind == SchedPoint.Lock)
            foreach (ModelThread o in _threads)
                if (o != t && !o.Done && (o.Holds(t.Pending.Obj!) || (t.AlsoNeeds is { } also && o.Holds(also)))) return false;
        return true;
    }

    private RunStatus Abort(RunStatus why)
    {
        _aborting = true;
        foreach (ModelThread t in _threads) if (!t.Done) t.Resume();
        foreach (ModelThread t in _threads)
            if (!t.Join(HangTimeout)) return RunStatus.Hung;
        return why;
    }

    internal void Parked() => _back.Release();

    internal void Register(object monitor)
    {
        foreach (object o in Locks) if (ReferenceEquals(o, monitor)) return;
        Locks.Add(monitor);
    }

    internal void Pulse(object monitor)
    {
        foreach (ModelThread t in _threads) if (ReferenceEquals(t.WaitingOn, monitor)) t.WaitingOn = null;
    }
}
