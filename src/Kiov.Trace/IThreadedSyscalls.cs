namespace Kiov.Trace;

/// <summary>
/// A back end that runs a <c>par</c> line's threads on threads of its own whose system calls overlap in
/// the kernel (the host back end's <c>HostSyscalls.OpenThreads</c>, over kiov-exec's thread channels).
/// <see cref="ParOp"/> asks for it through this interface, so the trace runner does not depend on the
/// host back end that lies above it.
/// </summary>
internal interface IThreadedSyscalls
{
    /// <summary><paramref name="count"/> back ends, one per thread of a par line, views of this
    /// process; this back end must not be used until the group is disposed.</summary>
    /// <param name="count">How many threads.</param>
    /// <returns>The group, or null if this back end cannot make the threads.</returns>
    IParThreads? OpenThreads(int count);
}

/// <summary>The threads of a par line on a back end that gives each its own (<see cref="IThreadedSyscalls"/>);
/// disposing ends them.</summary>
internal interface IParThreads : IDisposable
{
    /// <summary>Thread i's back end.</summary>
    IReadOnlyList<ISyscalls> Views { get; }

    /// <summary>Gives up the threads, stuck in system calls (a hung par line).</summary>
    /// <param name="why">What happened.</param>
    void GiveUp(string why);
}
