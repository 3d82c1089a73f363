using System.Collections.Concurrent;

namespace Kiov.Trace.Fuzz;

/// <summary>
/// Replays traces on the host kernel through persistent executors (kiov-exec): one per replay
/// running at a time, each reset (children killed, fds closed, arena reserved afresh) between
/// traces instead of a process started per trace. An executor that died or could not be reset is
/// dropped and the next replay starts a new one. Disposing the pool ends every executor.
/// </summary>
internal sealed class HostExecutorPool : IDisposable
{
    private readonly ConcurrentBag<ExecutorHostKernel> idle = [];
    private bool disposed;

    /// <summary>Replays <paramref name="trace"/> on the host. A trace error, or the executor's
    /// death (a <see cref="HostExecutorException"/>), becomes the outcome's failure.</summary>
    /// <param name="trace">The trace's lines.</param>
    public TraceOutcome Replay(IReadOnlyList<string> trace)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ExecutorHostKernel kernel;
        try
        {
            kernel = idle.TryTake(out ExecutorHostKernel? warm) ? warm : new ExecutorHostKernel();
        }
        catch (HostExecutorException e)
        {
            return new TraceOutcome([], $"crash: {nameof(HostExecutorException)}: {e.Message}");
        }
        TraceOutcome outcome = TraceOutcome.InProcess(trace, () => new HostSyscalls(kernel, ownsKernel: false));
        bool reusable = false;
        try
        {
            reusable = !kernel.Lost && kernel.Reset() == 0;
        }
        catch (HostExecutorException)
        {
            // Lost while being reset: the outcome stands, the executor goes.
        }
        lock (idle)
        {
            if (reusable && !disposed)
            {
                idle.Add(kernel);
                return outcome;
            }
        }
        kernel.Dispose();
        return outcome;
    }

    /// <summary>Ends every idle executor (a replay still running ends its own when it finishes).</summary>
    public void Dispose()
    {
        lock (idle)
            disposed = true;
        while (idle.TryTake(out ExecutorHostKernel? kernel))
            kernel.Dispose();
    }
}
