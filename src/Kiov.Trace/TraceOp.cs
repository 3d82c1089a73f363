namespace Kiov.Trace;

/// <summary>One parsed line of a trace: an operation of docs/trace-format.md with its fields in the C types
/// of the call it stands for. <see cref="TraceReader"/> makes them; <see cref="TraceRunner"/>
/// runs them.</summary>
/// <param name="Line">The 1-based line number it came from.</param>
internal abstract record TraceOp(int Line)
{
    /// <summary>Makes the call on <paramref name="sys"/> and returns what the line prints.</summary>
    /// <param name="sys">The back end: the model or the host kernel.</param>
    public abstract TraceResult Run(ISyscalls sys);

    /// <summary>The trace pid of the process the op runs in (docs/trace-format.md, version 2: the <c>pid</c> field, default 0).</summary>
    public int Pid { get; init; }

    /// <summary>Makes the call in the process <paramref name="sys"/>, with the trace's other processes
    /// at hand (for <c>fork</c>, <c>exit</c> and <c>target</c>s); by default as <see cref="Run(ISyscalls)"/>.</summary>
    /// <param name="sys">The back end of the op's process.</param>
    /// <param name="processes">Every process of the trace.</param>
    public virtual TraceResult Run(ISyscalls sys, TraceProcesses processes) => Run(sys);
}
