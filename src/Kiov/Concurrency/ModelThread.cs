namespace Kiov.Concurrency;

/// <summary>One thread of a <see cref="Controller"/>: a real thread that runs only while the
/// controller has handed it the turn, and gives the turn back at each <see cref="Sched"/> point.</summary>
internal sealed class ModelThread
{
    private readonly SemaphoreSlim _go = new(0);
    private readonly Action _body;
    private readonly Thread _thread;
    private readonly List<object> _held = [];

    internal ModelThread(Controller controller, int index, Action body)
    {
        Controller = controller;
        Index = index;
        _body = body;
        Pending = new Step(SchedPoint.Start, null, 0);
        _thread = new Thread(Main) { IsBackground = true, Name = $"model thread {index}" };
    }

    /// <summary>The controller that runs this thread.</summary>
    public Controller Controller { get; }

    /// <summary>The thread's number in its controller (0-based, the order of the bodies).</summary>
    public int Index { get; }

    /// <summary>What the thread does when it runs next.</summary>
    public Step Pending { get; private set; }

    /// <summary>True once its body has returned or thrown.</summary>
    public bool Done { get; private set; }

    /// <summary>What the body threw, if anything but the controller's abort.</summary>
    public Exception? Error { get; private set; }

    internal bool Quiet;          // points are not places to switch (Sched.Quietly)
    internal object? WaitingOn;   // a monitor it waits on, until pulsed
    internal object? SpinningOn;  // what its wait loop waits for others to touch
    internal long SpinMark;       // the controller's step count when it began to spin

    private HashSet<ulong>? _ownFrames; // frames no other thread touches (Sched.OwnFrames)

    internal void OwnFrames(IEnumerable<ulong> pfns) => (_ownFrames ??= []).UnionWith(pfns);

    internal bool OwnsFrame(ulong pfn) => _ownFrames != null && _ownFrames.Contains(pfn);

    internal bool Holds(object monitor)
    {
        foreach (object o in _held) if (ReferenceEquals(o, monitor)) return true;
        return false;
    }

    internal void Start() => _thread.Start();

    internal bool Join(TimeSpan timeout) => _thread.Join(timeout);

    internal void Resume() => _go.Release();

    private void Main()
    {
        Sched.t_current = this;
        _go.Wait();
        try
        {
            if (!Controller.Aborting) _body();
        }
        catch (ScheduleAbortedException) { }
        catch (Exception e) { Error = e; }
        finally
        {
            Sched.t_current = null;
            Done = true;
            _held.Clear();
            Controller.Parked();
        }
    }

    internal object? AlsoNeeds;   // a second lock a Lock step waits for (pipe_double_lock)

    internal void Park(Step step, object? alsoNeeds = null)
    {
        if (Controller.Aborting || Quiet) return;
        Pending = step;
        AlsoNeeds = alsoNeeds;
        if (step.Kind is SchedPoint.Lock or SchedPoint.Wait) Controller.Register(step.Obj!);
        if (alsoNeeds != null) Controller.Register(alsoNeeds);
        _held.Clear();
        foreach (object o in Controller.Locks) if (Monitor.IsEntered(o)) _held.Add(o);
        Controller.Parked();
        _go.Wait();
    }

    internal void Wait(object monitor)
    {
        if (Controller.Aborting) throw new ScheduleAbortedException();
        Monitor.Exit(monitor);
        if (Monitor.IsEntered(monitor)) throw new InvalidOperationException("Sched.Wait on a monitor held more than once");
        WaitingOn = monitor;
        Park(new Step(SchedPoint.Wait, monitor, 0));
        WaitingOn = null;
        Park(new Step(SchedPoint.Lock, monitor, 0));
        Monitor.Enter(monitor);
        if (Controller.Aborting) throw new ScheduleAbortedException();
    }

    internal void Spin(object obj)
    {
        SpinningOn = obj;
        SpinMark = Controller.StepCount;
        Park(new Step(SchedPoint.GateSync, obj, 0));
        SpinningOn = null;
    }
}

/// <summary>Unwinds a controlled thread when its controller gives up on a schedule (a deadlock, the
/// step bound): thrown only from blocking waits, never caught by the model.</summary>
internal sealed class ScheduleAbortedException : Exception
{
    /// <summary>Makes one.</summary>
    public ScheduleAbortedException() : base("the schedule was aborted") { }
}
