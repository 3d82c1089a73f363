namespace Kiov.Trace;

internal sealed partial class HostSyscalls : IThreadedSyscalls
{
    // A thread of a par line: the process's fd table (shared, as a thread shares its process's
    // fds) and pid, and a thread kernel of its own, which the thread group disposes.
    private HostSyscalls(IHostKernel threadKernel, TraceFdTable<int> processFds, long pid)
    {
        kernel = threadKernel;
        ownsKernel = false;
        fds = processFds;
        this.pid = pid;
    }

    /// <summary>The threads of a par line on the host: <paramref name="count"/> views of this
    /// process, each making its calls on a thread of the executor of its own (kiov-exec's
    /// THREAD_CHANNELS), so their system calls run concurrently in the kernel, as
    /// <c>pthread_create</c>'d threads of one process would; an fd one opens is the others' too.
    /// Until the group is disposed, this back end must not be used.</summary>
    /// <param name="count">How many threads.</param>
    /// <returns>The group, or null if the kernel is not an executor or could not make the threads.</returns>
    internal HostThreadGroup? OpenThreads(int count)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (kernel is not ExecutorHostKernel executor || executor.OpenThreadKernels(count, out ExecutorHostKernel[]? threads) < 0)
            return null;
        return new HostThreadGroup(executor, threads!, [.. threads!.Select(t => new HostSyscalls(t, fds, pid))]);
    }

    IParThreads? IThreadedSyscalls.OpenThreads(int count) => OpenThreads(count);
}

/// <summary>The threads of a host par line (<see cref="HostSyscalls.OpenThreads"/>): a back end per
/// thread; disposing closes their channels, and the executor's threads end.</summary>
/// <param name="executor">The process's executor.</param>
/// <param name="kernels">The thread kernels.</param>
/// <param name="views">Each thread's back end.</param>
internal sealed class HostThreadGroup(ExecutorHostKernel executor, ExecutorHostKernel[] kernels, HostSyscalls[] views) : IParThreads
{
    /// <summary>Thread i's back end.</summary>
    public IReadOnlyList<HostSyscalls> Views => views;

    IReadOnlyList<ISyscalls> IParThreads.Views => views;

    /// <summary>Ends the executor, whose threads are stuck in system calls (a hung par line).</summary>
    /// <param name="why">What happened.</param>
    public void GiveUp(string why) => executor.GiveUp(why);

    /// <summary>Closes every thread's channel: the executor's threads end, and it serves its own channel again.</summary>
    public void Dispose()
    {
        foreach (ExecutorHostKernel k in kernels) k.Dispose();
    }
}
