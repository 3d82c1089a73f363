using Kiov.Trace;

namespace Kiov.Cli;

/// <summary>
/// The exit statuses of <c>kiov</c>, and <see cref="Guard"/>: the one place every way out of a
/// command goes through, turning what happened into a status and at most one sanitized line on
/// standard error (<see cref="OneLine"/>). <see cref="Table"/> is what <c>kiov --help</c> prints.
/// </summary>
public static class ExitCodes
{
    /// <summary>Success; for <c>replay --diff</c>, the back ends agree.</summary>
    public const int Ok = 0;

    /// <summary><c>replay --diff</c>: the back ends differ; <c>fuzz</c>: a run failed.</summary>
    public const int Differ = 1;

    /// <summary>Bad input: a trace error, a missing file, wrong options.</summary>
    public const int BadInput = 2;

    /// <summary>The back end asked for is not available, or the model reached the limit of its
    /// physical memory where the host did not.</summary>
    public const int Unavailable = 3;

    /// <summary>An internal error: a bug in kiov or a failing back end (<c>EX_SOFTWARE</c>).</summary>
    public const int Internal = 70;

    /// <summary>Output could not be written: a full disk, an I/O error (<c>EX_IOERR</c>).</summary>
    public const int OutputError = 74;

    /// <summary>Interrupted by Ctrl-C (128 + SIGINT).</summary>
    public const int Interrupted = 130;

    /// <summary>Standard output's reader went away (EPIPE, as by <c>| head</c>): a quiet exit,
    /// with the status of a program killed by SIGPIPE (128 + 13).</summary>
    public const int BrokenPipe = 141;

    /// <summary>The longest message <see cref="OneLine"/> lets through, in characters.</summary>
    public const int MaxMessage = 400;

    /// <summary>The table <c>kiov --help</c> shows.</summary>
    public static readonly string Table =
        "Exit status:\n" +
        "  0    success; replay --diff: the back ends agree\n" +
        "  1    replay --diff: the back ends differ; fuzz: a run failed\n" +
        "  2    bad input: a trace error (FILE:LINE), a file that cannot be read, a wrong option\n" +
        "  3    a back end is not available, or the model ran out of physical memory\n" +
        "  70   internal error (a bug in kiov)\n" +
        "  74   output error (standard output or --out could not be written, e.g. a full disk)\n" +
        "  130  interrupted (Ctrl-C); fuzz prints the summary of the runs done first\n" +
        "  141  standard output closed by its reader (EPIPE): a quiet exit\n" +
        "Every error is one line on standard error.";

    /// <summary>Runs <paramref name="action"/> and turns every exception into one line on
    /// <paramref name="stderr"/> and an exit status: never a stack trace.</summary>
    /// <param name="stderr">Where the message goes.</param>
    /// <param name="action">The command's work, returning its exit status.</param>
    public static int Guard(TextWriter stderr, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e)
        {
            var (status, message) = Classify(e);
            if (message is not null)
                Say(stderr, message);
            return status;
        }
    }

    /// <summary>Writes <c>kiov: MESSAGE</c> as one sanitized line; an error writing standard
    /// error itself is ignored (there is nowhere left to say it).</summary>
    /// <param name="stderr">Standard error.</param>
    /// <param name="message">The message, raw.</param>
    public static void Say(TextWriter stderr, string message)
    {
        try
        {
            stderr.Write("kiov: " + OneLine(message) + "\n");
            stderr.Flush();
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The exit status and message (null: say nothing) for an exception.</summary>
    /// <param name="e">What was thrown.</param>
    public static (int Status, string? Message) Classify(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } aggregate)
            return Classify(aggregate.InnerExceptions[0]);
        return e switch
        {
            ToolInputException => (BadInput, e.Message),
            TraceException t => (BadInput, $"line {t.Line}: {t.Problem}"),
            BackendUnavailableException or Kiov.Trace.HostExecutorException => (Unavailable, e.Message),
            OutputException { IsBrokenPipe: true } => (BrokenPipe, null),
            OutputException o => (OutputError, o.Message),
            OperationCanceledException => (Interrupted, "interrupted"),
            _ => (Internal, $"internal error: {e.GetType().Name}: {e.Message}"),
        };
    }

    /// <summary>Makes <paramref name="text"/> safe to print as one line: control characters
    /// (newlines, escapes, DEL, C1) become <c>\n</c>, <c>\t</c>, <c>\r</c> or <c>\xNN</c>/<c>\uNNNN</c>,
    /// and a text longer than <see cref="MaxMessage"/> is cut, saying how long it was.</summary>
    /// <param name="text">The raw text.</param>
    public static string OneLine(string text)
    {
        var sb = new System.Text.StringBuilder(Math.Min(text.Length, MaxMessage) + 40);
        int i = 0;
        for (; i < text.Length && sb.Length < MaxMessage; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case < ' ' or '\x7f': sb.Append($"\\x{(int)c:x2}"); break;
                case >= '\x80' and < '\xa0' or '\u2028' or '\u2029': sb.Append($"\\u{(int)c:x4}"); break;
                default: sb.Append(c); break;
            }
        }
        if (i < text.Length)
            sb.Append($"... (cut; {text.Length} characters in all)");
        return sb.ToString();
    }
}
