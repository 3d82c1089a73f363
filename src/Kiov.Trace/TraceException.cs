namespace Kiov.Trace;

/// <summary>
/// A trace error (docs/trace-format.md): a line that is not valid JSON, names an unknown op, lacks a field,
/// gives a field of the wrong type or maps outside the arena. It is bad input to the tool, not a
/// bug: the runner reports it in one line, naming <see cref="Line"/>, and exits with status 2.
/// </summary>
internal sealed class TraceException : Exception
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

    /// <summary>The longest piece of input a message quotes, in characters.</summary>
    public const int MaxQuoted = 64;

    /// <summary>Quotes a piece of the input for a message, as a JSON string would (control
    /// characters escaped), cut to <see cref="MaxQuoted"/> characters with its length said, so that
    /// a message stays one short line whatever the input.</summary>
    /// <param name="text">The piece of input.</param>
    public static string Quote(string text)
    {
        bool cut = text.Length > MaxQuoted;
        string shown = cut ? text[..MaxQuoted] : text;
        if (cut && char.IsHighSurrogate(shown[^1]))
            shown = shown[..^1];
        var quoted = new System.Text.StringBuilder(shown.Length + 2).Append('"');
        foreach (char c in shown)
        {
            if (c is '"' or '\\') quoted.Append('\\').Append(c);
            else if (char.IsControl(c) || c is '\u2028' or '\u2029') quoted.Append($"\\u{(int)c:x4}");
            else quoted.Append(c);
        }
        quoted.Append('"');
        return cut ? $"{quoted}... ({text.Length} characters)" : quoted.ToString();
    }
}
