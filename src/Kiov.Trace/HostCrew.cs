namespace Kiov.Trace;

/// <summary>
/// The real threads that run a host <c>par</c> line's thread bodies (<see cref="ParOp"/>), kept for
/// the next line instead of made for each: thread i stays pinned to CPU i (mod the CPU count, best
/// effort, as <c>sched_setaffinity</c> would pin a <c>pthread_create</c>'d thread), and waits for a
/// body. Starting and pinning a thread costs milliseconds, most of a litmus run's time on the host;
/// a crew kept between runs is released in microseconds. Every body of one line is handed out first,
/// each worker says it is ready, and the last to be ready releases them all by one store, as a
/// barrier would (the releasing thread is one of them, so no third thread needs a CPU to let them
/// go where there are only two). A crew whose line hung is never reused (its workers may still be in a call).
/// </summary>
internal sealed class HostCrew
{
    private static readonly Lock IdleLock = new();
    private static readonly List<HostCrew> Idle = [];

    private readonly Worker[] workers;
    private int count, ready, go, done;
    private readonly SemaphoreSlim finished = new(0);

    private HostCrew(int count)
    {
        workers = new Worker[count];
        for (int i = 0; i < count; i++)
            workers[i] = new Worker(this, i);
    }

    /// <summary>A crew of at least <paramref name="count"/> workers, idle, for one par line.</summary>
    /// <param name="count">How many bodies the line runs.</param>
    public static HostCrew Rent(int count)
    {
        lock (IdleLock)
        {
            int at = Idle.FindIndex(c => c.workers.Length >= count);
            if (at >= 0)
            {
                HostCrew crew = Idle[at];
                Idle.RemoveAt(at);
                return crew;
            }
        }
        return new HostCrew(count);
    }

    /// <summary>Runs <paramref name="bodies"/>, one per worker, released together once each worker
    /// holds its own; waits until all have returned or <paramref name="timeout"/> has passed.</summary>
    /// <param name="bodies">The thread bodies; each catches its own exceptions.</param>
    /// <param name="timeout">How long the line may run.</param>
    /// <returns>Whether every body returned in time. On true the crew is idle again (and given back
    /// for the next line); on false it is abandoned.</returns>
    public bool Run(Action[] bodies, TimeSpan timeout)
    {
        Volatile.Write(ref ready, 0);
        Volatile.Write(ref go, 0);
        Volatile.Write(ref done, 0);
        count = bodies.Length;
        for (int i = 0; i < bodies.Length; i++)
            workers[i].Give(bodies[i]);
        DateTime deadline = DateTime.UtcNow + timeout;
        while (Volatile.Read(ref done) < bodies.Length)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !finished.Wait(left))
                return false;
        }
        while (finished.Wait(0)) { }
        lock (IdleLock) Idle.Add(this);
        return true;
    }

    // One pinned background thread: waits for a body, says it is ready, spins until the crew's
    // release, runs it, says it is done.
    private sealed class Worker
    {
        private readonly HostCrew crew;
        private readonly SemaphoreSlim given = new(0);
        private Action? body;

        public Worker(HostCrew crew, int index)
        {
            this.crew = crew;
            int cpus = Environment.ProcessorCount;
            new Thread(() =>
            {
                if (cpus > 1) HostAffinity.Pin(index % cpus);
                Serve();
            }) { IsBackground = true, Name = $"kiov par {index}" }.Start();
        }

        public void Give(Action b)
        {
            body = b;
            given.Release();
        }

        private void Serve()
        {
            for (;;)
            {
                given.Wait();
                Action b = body!;
                body = null;
                if (Interlocked.Increment(ref crew.ready) == Volatile.Read(ref crew.count))
                    Volatile.Write(ref crew.go, 1);
                var spin = new SpinWait(); // yields now and then: more workers than CPUs must not starve the last one
                while (Volatile.Read(ref crew.go) == 0) spin.SpinOnce(sleep1Threshold: -1);
                b();
                Interlocked.Increment(ref crew.done);
                crew.finished.Release();
            }
        }
    }
}
