namespace Kiov.Trace.Fuzz;

/// <summary>
/// Shrinks a failing trace by delta debugging (Zeller's ddmin, complements only): try dropping
/// each of n chunks of lines, keep the first smaller trace that still fails, and refine the chunks
/// down to single lines, until no single line can go or the step budget is spent. Whether a trace
/// "still fails" is the caller's test, which must answer false for a trace that is a trace error
/// or whose replay crashes when the failure being shrunk is a divergence.
/// </summary>
internal static class TraceShrinker
{
    /// <summary>The result of a shrink.</summary>
    /// <param name="Lines">The smallest failing trace found.</param>
    /// <param name="Steps">How many times the test ran.</param>
    /// <param name="Minimal">Whether no single line can be dropped (false if the budget ran out first).</param>
    public sealed record Result(IReadOnlyList<string> Lines, int Steps, bool Minimal);

    /// <summary>Shrinks <paramref name="trace"/>, which fails.</summary>
    /// <param name="trace">The failing trace's lines.</param>
    /// <param name="stillFails">The test: whether a candidate trace still fails.</param>
    /// <param name="maxSteps">The most tests to run.</param>
    public static Result Shrink(IReadOnlyList<string> trace, Func<IReadOnlyList<string>, bool> stillFails, int maxSteps)
    {
        List<string> current = [.. trace];
        int steps = 0;
        int n = 2;
        while (current.Count > 1)
        {
            int chunks = Math.Min(n, current.Count);
            bool reduced = false;
            for (int c = 0; c < chunks; c++)
            {
                if (steps >= maxSteps)
                    return new Result(current, steps, false);
                int start = c * current.Count / chunks, end = (c + 1) * current.Count / chunks;
                List<string> candidate = [.. current.Take(start), .. current.Skip(end)];
                steps++;
                if (stillFails(candidate))
                {
                    current = candidate;
                    n = Math.Max(chunks - 1, 2);
                    reduced = true;
                    break;
                }
            }
            if (!reduced)
            {
                if (chunks >= current.Count)
                    return new Result(current, steps, true);
                n = Math.Min(chunks * 2, current.Count);
            }
        }
        return new Result(current, steps, true);
    }
}
