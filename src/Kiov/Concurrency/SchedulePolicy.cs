namespace Kiov.Concurrency;

/// <summary>Who runs next at each step of a <see cref="Controller"/>. A policy also keeps the
/// choices it made, so that any run can be printed and replayed (<see cref="Schedule"/>).</summary>
internal abstract class SchedulePolicy
{
    /// <summary>The thread index chosen at each step so far.</summary>
    public List<int> Choices { get; } = [];

    /// <summary>Picks one of <paramref name="enabled"/> (never empty, in thread order) and records it.</summary>
    /// <param name="enabled">The threads that can run.</param>
    /// <param name="all">Every thread of the run.</param>
    public ModelThread Pick(IReadOnlyList<ModelThread> enabled, IReadOnlyList<ModelThread> all)
    {
        ModelThread t = Choose(enabled, all);
        Choices.Add(t.Index);
        return t;
    }

    /// <summary>The choice itself.</summary>
    /// <param name="enabled">The threads that can run, in thread order.</param>
    /// <param name="all">Every thread of the run.</param>
    protected abstract ModelThread Choose(IReadOnlyList<ModelThread> enabled, IReadOnlyList<ModelThread> all);
}

/// <summary>Replays a printed schedule, then runs the lowest-numbered runnable thread: with no
/// choices at all, each thread runs until it blocks or ends before the next one starts.</summary>
/// <param name="choices">The thread index of each step, from <see cref="Schedule.Parse"/>.</param>
internal sealed class ReplayPolicy(IReadOnlyList<int>? choices = null) : SchedulePolicy
{
    private int _at;

    /// <inheritdoc/>
    protected override ModelThread Choose(IReadOnlyList<ModelThread> enabled, IReadOnlyList<ModelThread> all)
    {
        if (choices != null && _at < choices.Count)
        {
            int want = choices[_at++];
            foreach (ModelThread t in enabled) if (t.Index == want) return t;
            throw new ScheduleMismatchException($"step {_at}: thread {want} cannot run there");
        }
        return enabled[0];
    }
}

/// <summary>Picks uniformly among the runnable threads with a seeded generator: the same seed gives
/// the same schedule.</summary>
/// <param name="seed">The seed.</param>
internal sealed class RandomPolicy(int seed) : SchedulePolicy
{
    private readonly Random _rng = new(seed);

    /// <inheritdoc/>
    protected override ModelThread Choose(IReadOnlyList<ModelThread> enabled, IReadOnlyList<ModelThread> all) =>
        enabled[_rng.Next(enabled.Count)];
}

/// <summary>A replayed schedule that does not fit the run (the test or the model changed).</summary>
/// <param name="message">Where it stopped fitting.</param>
internal sealed class ScheduleMismatchException(string message) : Exception(message);

/// <summary>The printed form of a schedule: each step's thread index, runs of the same thread
/// written <c>index*count</c>, separated by dots (<c>0*12.1*3.0*40</c>).</summary>
internal static class Schedule
{
    /// <summary>Prints <paramref name="choices"/>.</summary>
    /// <param name="choices">A thread index per step.</param>
    public static string Format(IReadOnlyList<int> choices)
    {
        var parts = new List<string>();
        for (int i = 0; i < choices.Count;)
        {
            int j = i;
            while (j < choices.Count && choices[j] == choices[i]) j++;
            parts.Add(j - i == 1 ? $"{choices[i]}" : $"{choices[i]}*{j - i}");
            i = j;
        }
        return string.Join('.', parts);
    }

    /// <summary>Reads what <see cref="Format"/> printed.</summary>
    /// <param name="text">The schedule.</param>
    /// <exception cref="FormatException">It is not one.</exception>
    public static List<int> Parse(string text)
    {
        var choices = new List<int>();
        if (text.Length == 0) return choices;
        foreach (string part in text.Split('.'))
        {
            string[] p = part.Split('*');
            if (p.Length > 2 || !int.TryParse(p[0], out int thread) || thread < 0)
                throw new FormatException($"\"{part}\" is not THREAD or THREAD*COUNT");
            int count = 1;
            if (p.Length == 2 && (!int.TryParse(p[1], out count) || count < 1))
                throw new FormatException($"\"{part}\" is not THREAD or THREAD*COUNT");
            choices.AddRange(Enumerable.Repeat(thread, count));
        }
        return choices;
    }
}

/// <summary>Runs the threads one after another in <paramref name="order"/>: each runs until it ends or
/// blocks before a later one runs. Its outcomes are the sequential ones, which every model of a
/// litmus test must allow.</summary>
/// <param name="order">Thread indices, first to run first.</param>
internal sealed class SequentialPolicy(IReadOnlyList<int> order) : SchedulePolicy
{
    /// <inheritdoc/>
    protected override ModelThread Choose(IReadOnlyList<ModelThread> enabled, IReadOnlyList<ModelThread> all)
    {
        foreach (int i in order)
            foreach (ModelThread t in enabled)
                if (t.Index == i) return t;
        return enabled[0];
    }
}
