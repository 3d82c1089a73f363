namespace Kiov.Trace;

/// <summary>
/// The processes of a running trace by trace pid (docs/trace-format.md, "Processes"): pid 0 is the back end the
/// trace was started on; <c>fork</c> gives the lowest free number from 1; an exited process keeps its
/// number, as a process without memory, until a fork gives the number out again. Disposing it ends
/// every process the trace forked (never pid 0, which belongs to the caller).
/// </summary>
internal sealed class TraceProcesses(ISyscalls root) : IDisposable
{
    private readonly List<ISyscalls?> _slots = [root];  // null: never given out

    /// <summary>Runs <paramref name="op"/> in its process (<see cref="TraceOp.Pid"/>): what the line prints.</summary>
    /// <exception cref="TraceException">The op's pid names no live process, or a process op is wrong.</exception>
    public TraceResult Run(TraceOp op) => op.Run(Live(op.Pid, op.Line), this);

    /// <summary>The live process <paramref name="pid"/>; a trace error at <paramref name="line"/> when none.</summary>
    public ISyscalls Live(int pid, int line)
    {
        ISyscalls? p = pid >= 0 && pid < _slots.Count ? _slots[pid] : null;
        if (p == null || p is IProcessSyscalls { HasExited: true })
            throw new TraceException(line, $"pid {pid} names no live process");
        return p;
    }

    /// <summary>The process a <c>target</c> names, live or exited; a trace error when the number was never given out.</summary>
    public IProcessSyscalls Target(int pid, int line)
    {
        ISyscalls? p = pid >= 0 && pid < _slots.Count ? _slots[pid] : null;
        if (p == null) throw new TraceException(line, $"target {pid} was never given out");
        return Processes(p, line);
    }

    /// <summary><c>fork</c> in <paramref name="parent"/>: the child's trace pid, or the <c>-errno</c> fork gave.</summary>
    public long Fork(ISyscalls parent, int line)
    {
        IProcessSyscalls? child = Processes(parent, line).Fork(out long error);
        if (child == null) return error;
        int pid = 1;
        while (pid < _slots.Count && _slots[pid] is not (null or IProcessSyscalls { HasExited: true })) pid++;
        if (pid == _slots.Count) _slots.Add(child);
        else
        {
            _slots[pid]?.Dispose();  // the exited process whose number this was
            _slots[pid] = child;
        }
        return pid;
    }

    /// <summary><c>exit</c> of <paramref name="pid"/>: a trace error for pid 0 or a process that is not live.</summary>
    public long Exit(int pid, int line)
    {
        if (pid == 0) throw new TraceException(line, "pid 0 cannot exit: it is the trace's first process");
        return Processes(Live(pid, line), line).Exit();
    }

    /// <summary>A process as one that can fork and be named: a trace error on a back end that has no processes.</summary>
    public static IProcessSyscalls Processes(ISyscalls sys, int line) =>
        sys as IProcessSyscalls ?? throw new TraceException(line, "this back end cannot run processes (fork, exit, pid, target, mem_*)");

    /// <summary>Ends every process the trace forked that is still live.</summary>
    public void Dispose()
    {
        for (int i = _slots.Count - 1; i >= 1; i--)
        {
            if (_slots[i] is IProcessSyscalls { HasExited: false } p) p.Exit();
            _slots[i]?.Dispose();
        }
        _slots.RemoveRange(1, _slots.Count - 1);
    }
}
