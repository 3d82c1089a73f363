namespace Kiov.Trace;

/// <summary>
/// Trace fds (docs/trace-format.md): the lowest free number from 3 up, per trace, each standing for a
/// back end's own descriptor (a host fd, or a model file).
/// </summary>
/// <typeparam name="T">What a trace fd stands for.</typeparam>
internal sealed class TraceFdTable<T>
    where T : notnull
{
    /// <summary>The first trace fd given out.</summary>
    public const int First = 3;

    private readonly List<T?> slots = [];
    private readonly List<bool> used = [];

    /// <summary>Gives <paramref name="target"/> the lowest free trace fd.</summary>
    /// <param name="target">What the new trace fd stands for.</param>
    /// <returns>The trace fd.</returns>
    public int Add(T target)
    {
        int i = used.IndexOf(false);
        if (i < 0)
        {
            i = used.Count;
            used.Add(true);
            slots.Add(target);
        }
        else
        {
            used[i] = true;
            slots[i] = target;
        }
        return i + First;
    }

    /// <summary>What trace fd <paramref name="fd"/> stands for, if it is open.</summary>
    /// <param name="fd">The trace fd.</param>
    /// <param name="target">What it stands for.</param>
    /// <returns>Whether it is open.</returns>
    public bool TryGet(int fd, out T target)
    {
        int i = fd - First;
        if (i >= 0 && i < used.Count && used[i])
        {
            target = slots[i]!;
            return true;
        }
        target = default!;
        return false;
    }

    /// <summary>Frees trace fd <paramref name="fd"/>, if it is open.</summary>
    /// <param name="fd">The trace fd.</param>
    /// <param name="target">What it stood for.</param>
    /// <returns>Whether it was open.</returns>
    public bool Remove(int fd, out T target)
    {
        if (!TryGet(fd, out target))
            return false;
        used[fd - First] = false;
        slots[fd - First] = default;
        return true;
    }

    /// <summary>A copy with the same trace fds standing for the same things (a forked child's table).</summary>
    public TraceFdTable<T> Clone()
    {
        var copy = new TraceFdTable<T>();
        copy.slots.AddRange(slots);
        copy.used.AddRange(used);
        return copy;
    }

    /// <summary>What every open trace fd stands for.</summary>
    public IEnumerable<T> Open()
    {
        for (int i = 0; i < used.Count; i++)
            if (used[i])
                yield return slots[i]!;
    }
}
