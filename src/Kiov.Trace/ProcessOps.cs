using Kiov.Iov;

namespace Kiov.Trace;

/// <summary><c>fork()</c> in the op's process: prints the child's trace pid.</summary>
/// <param name="Line">The 1-based line number.</param>
internal sealed record ForkOp(int Line) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => throw new TraceException(Line, "fork needs the runner's process table");

    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys, TraceProcesses processes) => new(processes.Fork(sys, Line));
}

/// <summary><c>_exit()</c> of the op's process (never pid 0): its fds close, its memory goes.</summary>
/// <param name="Line">The 1-based line number.</param>
internal sealed record ExitOp(int Line) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => throw new TraceException(Line, "exit needs the runner's process table");

    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys, TraceProcesses processes) => new(processes.Exit(Pid, Line));
}

/// <summary><c>pread()</c> on <c>/proc/&lt;target&gt;/mem</c>: prints the bytes read and their hash.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The offset: an address in the target.</param>
/// <param name="Len">The length.</param>
/// <param name="Target">The target's trace pid, or null for the caller.</param>
internal sealed record MemReadOp(int Line, ulong Addr, ulong Len, int? Target) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => Run(sys, new TraceProcesses(sys));

    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys, TraceProcesses processes)
    {
        IProcessSyscalls self = TraceProcesses.Processes(sys, Line);
        IProcessSyscalls target = Target is int t ? processes.Target(t, Line) : self;
        if (target.HasExited) return new(-Errno.ESRCH);
        long ret = self.MemRead(target, Addr, Len, out ulong hash);
        return new(ret, Hash: hash);
    }
}

/// <summary><c>pwrite()</c> of the fill pattern on <c>/proc/&lt;target&gt;/mem</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Addr">The offset: an address in the target.</param>
/// <param name="Len">The length.</param>
/// <param name="Seed">The pattern's seed.</param>
/// <param name="Target">The target's trace pid, or null for the caller.</param>
internal sealed record MemWriteOp(int Line, ulong Addr, ulong Len, uint Seed, int? Target) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => Run(sys, new TraceProcesses(sys));

    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys, TraceProcesses processes)
    {
        IProcessSyscalls self = TraceProcesses.Processes(sys, Line);
        IProcessSyscalls target = Target is int t ? processes.Target(t, Line) : self;
        if (target.HasExited) return new(-Errno.ESRCH);
        return new(self.MemWrite(target, Addr, Len, Seed));
    }
}

/// <summary><c>process_vm_readv</c> or <c>process_vm_writev</c> with a <c>target</c> (docs/trace-format.md, version 2):
/// on another process, or on an exited one, which has no memory (ESRCH once there is something to copy).</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Local">The caller's iovec list.</param>
/// <param name="Remote">The target's iovec list.</param>
/// <param name="Target">The target's trace pid.</param>
/// <param name="Write">True for process_vm_writev.</param>
internal sealed record RemoteProcessVmOp(int Line, IoVec[] Local, IoVec[] Remote, int Target, bool Write) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => Run(sys, new TraceProcesses(sys));

    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys, TraceProcesses processes)
    {
        IProcessSyscalls self = TraceProcesses.Processes(sys, Line);
        IProcessSyscalls target = processes.Target(Target, Line);
        return new(Write ? self.ProcessVmWritev(target, Local, Remote) : self.ProcessVmReadv(target, Local, Remote));
    }
}

/// <summary>The fields of docs/trace-format.md's "Processes" that any op may carry: <c>pid</c> on every op,
/// <c>target</c> on process_vm_*; and the parsers of the process ops.</summary>
internal static class ProcessFields
{
    /// <summary>The parsers of <c>fork</c>, <c>exit</c>, <c>mem_read</c> and <c>mem_write</c>.</summary>
    public static TraceOp Fork(TraceFields f) => new ForkOp(f.Line);

    /// <inheritdoc cref="Fork"/>
    public static TraceOp Exit(TraceFields f) => new ExitOp(f.Line);

    /// <inheritdoc cref="Fork"/>
    public static TraceOp MemRead(TraceFields f) => new MemReadOp(f.Line, f.CopyAddress("addr"), MemLen(f), OptionalPid(f, "target"));

    /// <inheritdoc cref="Fork"/>
    public static TraceOp MemWrite(TraceFields f) =>
        new MemWriteOp(f.Line, f.CopyAddress("addr"), MemLen(f), f.U32("seed"), OptionalPid(f, "target"));

    /// <summary>Sets the op's <c>pid</c> and turns a process_vm_* with a <c>target</c> into its remote form.</summary>
    public static TraceOp Apply(TraceOp op, TraceFields f)
    {
        int? target = OptionalPid(f, "target");
        if (target is int t)
        {
            op = op switch
            {
                ProcessVmReadvOp r => new RemoteProcessVmOp(r.Line, r.Local, r.Remote, t, Write: false),
                ProcessVmWritevOp w => new RemoteProcessVmOp(w.Line, w.Local, w.Remote, t, Write: true),
                _ => op,
            };
        }
        int pid = OptionalPid(f, "pid") ?? 0;
        if (op is ExitOp && pid == 0) throw f.Error("exit needs a pid other than 0");
        return pid == 0 ? op : op with { Pid = pid };
    }

    private static int? OptionalPid(TraceFields f, string name)
    {
        if (!f.Has(name)) return null;
        int pid = f.Int(name);
        return pid >= 0 ? pid : throw f.Error($"{name} must be a trace pid (0 or more), not {pid}");
    }

    // mem_* lengths: at most 2^32, or absurd (from 0x7ffffffff000); anything between is a trace error.
    private static ulong MemLen(TraceFields f)
    {
        ulong len = f.U64("len");
        if (len > 1UL << 32 && len < ProcMemCopy.AbsurdLen)
            throw f.Error($"len 0x{len:x} of mem_* lies between 2^32 and 0x7ffffffff000: the runner's buffer would decide it");
        return len;
    }
}
