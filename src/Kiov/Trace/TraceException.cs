namespace Kiov.Trace;

/// <summary>
/// A trace error (TRACE.md): a line that is not valid JSON, names an unknown op, lacks a field,
/// gives a field of the wrong type or maps outside the arena. It is bad input to the tool, not a
/// bug: the runner reports it in one line, naming <see cref="Line"/>, and exits with status 2.
/// </summary>
public sealed class TraceException : Exception
{
    /// <summary>Creates the error for 1-based line <paramref name="line"/>.</summary>
    /// <param name="line">The 1-based line number in the trace.</param>
    /// <param name="problem">A short message naming the problem, without the line number.</param>
    public TraceException(int line, string problem)
        : base($"line {line}: {problem}")
    {
        Line = line;
        Problem = problem;
    }

    /// <summary>The 1-based line number of the bad line.</summary>
    public int Line { get; }

    /// <summary>The short message, without the line number.</summary>
    public string Problem { get; }
}
