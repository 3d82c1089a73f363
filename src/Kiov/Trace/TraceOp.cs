namespace Kiov.Trace;

/// <summary>One parsed line of a trace: an operation of TRACE.md with its fields in the C types
/// of the call it stands for. <see cref="TraceReader"/> makes them; <see cref="TraceRunner"/>
/// runs them.</summary>
/// <param name="Line">The 1-based line number it came from.</param>
public abstract record TraceOp(int Line)
{
    /// <summary>Makes the call on <paramref name="sys"/> and returns what the line prints.</summary>
    /// <param name="sys">The back end: the model or the host kernel.</param>
    public abstract TraceResult Run(ISyscalls sys);
}
