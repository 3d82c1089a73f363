namespace Kiov.Cli;

/// <summary>The exit statuses of <c>kiov</c>.</summary>
public static class ExitCodes
{
    /// <summary>Success; for <c>replay --diff</c>, the back ends agree.</summary>
    public const int Ok = 0;

    /// <summary><c>replay --diff</c>: the back ends differ.</summary>
    public const int Differ = 1;

    /// <summary>Bad input: a trace error, a missing file, wrong options.</summary>
    public const int BadInput = 2;

    /// <summary>The back end asked for is not available.</summary>
    public const int Unavailable = 3;

    /// <summary>An internal error (a bug in kiov or a failing back end).</summary>
    public const int Internal = 70;

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
        catch (ToolInputException e)
        {
            stderr.WriteLine($"kiov: {e.Message}");
            return BadInput;
        }
        catch (Exception e) when (e is BackendUnavailableException or Kiov.Trace.HostExecutorException)
        {
            stderr.WriteLine($"kiov: {e.Message}");
            return Unavailable;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"kiov: internal error: {e.GetType().Name}: {e.Message}");
            return Internal;
        }
    }
}
