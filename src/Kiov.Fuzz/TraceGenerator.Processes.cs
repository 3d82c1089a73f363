using System.Globalization;
using Kiov.Iov;
using static Kiov.Trace.Fuzz.TraceLineWriter;

namespace Kiov.Trace.Fuzz;

internal sealed partial class TraceGenerator
{
    /// <summary>The most processes a generated trace has live at once (pid 0 included).</summary>
    public const int MaxProcesses = 4;

    /// <summary>Lengths of mem_read and mem_write: the absurd ones docs/trace-format.md allows (from 0x7ffffffff000 on).</summary>
    private static readonly ulong[] AbsurdMemLengths = [ProcMemCopy.AbsurdLen, 1UL << 63, ulong.MaxValue, ulong.MaxValue - 4095];

    // What the generator knows of one process: its window, its fds; Live false once it exited.
    private sealed record ProcessState(ArenaTracker Arena, SortedDictionary<int, FdKind> Open, List<int> Closed)
    {
        public bool Live { get; set; } = true;
    }

    private readonly List<ProcessState?> _processes = [];  // by trace pid; null: never given out
    private int _pid;                                       // the process the next op runs in
    private readonly bool _withProcesses;                   // false: no process op, and no random number spent on them

    // The line as the process in use runs it: "pid" first, unless it is pid 0.
    private string WithPid(string line) =>
        _pid == 0 ? line : line.Insert(1, string.Create(CultureInfo.InvariantCulture, $"\"pid\":{_pid},"));

    /// <summary>
    /// Now and then a process op (fork, exit, mem_read, mem_write, process_vm_* with a target), and
    /// sometimes a switch to another live process for the next ops. Forks stay few (a host executor
    /// forks at most 256 times a trace) and at most <see cref="MaxProcesses"/> processes are live.
    /// Returns true when it emitted the step's line.
    /// </summary>
    private bool ProcessStep()
    {
        if (!_withProcesses)
            return false;
        if (_processes.Count == 0)
            _processes.Add(new ProcessState(_arena, _open, _closed));
        if (_rng.Chance(10) && LivePids().Count > 1)
            Use(_rng.Pick(LivePids()));
        int roll = _rng.Below(100);
        switch (roll)
        {
            case < 2: Fork(); return true;
            case < 3 when _pid != 0: Exit(); return true;
            case < 6: MemOp(write: false); return true;
            case < 9: MemOp(write: true); return true;
            case < 11 when !AliasFree && _processes.Count > 1:
                RemoteProcessVm(_rng.Chance(50) ? "process_vm_readv" : "process_vm_writev");
                return true;
            default: return false;
        }
    }

    private List<int> LivePids()
    {
        var live = new List<int>();
        for (int pid = 0; pid < _processes.Count; pid++)
            if (_processes[pid] is { Live: true })
                live.Add(pid);
        return live;
    }

    // Makes 'pid' the process in use: its window and fds become the generator's.
    private void Use(int pid)
    {
        ProcessState state = _processes[pid]!;
        _pid = pid;
        _arena = state.Arena;
        _open = state.Open;
        _closed = state.Closed;
    }

    private void Fork()
    {
        if (LivePids().Count >= MaxProcesses)
        {
            MemOp(write: false);
            return;
        }
        Emit("{\"op\":\"fork\"}");
        int child = 1;
        while (child < _processes.Count && _processes[child] is { Live: true })
            child++;
        var state = new ProcessState(_arena.Clone(), new SortedDictionary<int, FdKind>(_open), [.. _closed]);
        if (child == _processes.Count)
            _processes.Add(state);
        else
            _processes[child] = state;
    }

    private void Exit()
    {
        Emit("{\"op\":\"exit\"}");
        _processes[_pid]!.Live = false;
        Use(0);
    }

    // A target that was given out (live or exited), or none (the caller itself).
    private string Target(int noTargetPercent)
    {
        if (_rng.Chance(noTargetPercent))
            return "";
        int pid = _rng.Below(_processes.Count);
        return _processes[pid] == null ? "" : string.Create(CultureInfo.InvariantCulture, $",\"target\":{pid}");
    }

    private void MemOp(bool write)
    {
        string target = Target(40);
        int roll = _rng.Below(100);
        ulong addr = roll switch
        {
            < 6 => (1UL << 63) + _rng.Below(4096UL),
            < 14 => TraceArena.Start + ((ulong)_rng.Below((int)(TraceArena.Size / ArenaTracker.PageSize)) * ArenaTracker.PageSize) + _rng.Below(4096UL),
            < 17 => TraceArena.End - 1 - _rng.Below(8192UL), // the last two pages: never the end itself, which is outside
            _ => UserAddr(write),
        };
        ulong len = _rng.Below(100) switch
        {
            < 5 => 0,
            < 10 => _rng.Pick(AbsurdMemLengths),
            < 60 => 1 + _rng.Below(5000UL),
            _ => 1 + _rng.Below(6 * ArenaTracker.PageSize),
        };
        string seed = write ? string.Create(CultureInfo.InvariantCulture, $",\"seed\":{_rng.Below(1000UL)}") : "";
        Emit($"{{\"op\":\"{(write ? "mem_write" : "mem_read")}\",\"addr\":{Addr(addr)},\"len\":{Len(len)}{seed}{target}}}");
    }

    private void RemoteProcessVm(string op)
    {
        bool localWrite = op == "process_vm_readv";
        IoVec[] local = Iovecs(localWrite), remote = Iovecs(!localWrite);
        string target = Target(10);
        Emit($"{{\"op\":\"{op}\",\"local\":{TraceLineWriter.Iov(local)},\"remote\":{TraceLineWriter.Iov(remote)}{target}}}");
    }
}
