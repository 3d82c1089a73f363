namespace Kiov.Mm;

/// <summary>
/// Event counters of the memory manager that a user can read (the GUP lines of <c>/proc/vmstat</c>,
/// <c>nr_foll_pin_acquired</c>/<c>nr_foll_pin_released</c>, and the model's own audit of kernel
/// pages reached through a user GUP call). Like the kernel's vmstat counters, which each CPU bumps
/// in its own per-CPU slot without a locked instruction, each thread adds to its own cells
/// (<see cref="Cells"/>) with plain writes, and a reader sums every thread's cells: exact once the
/// writers are done (or joined), never torn. Writers add once per call, never once per page.
/// </summary>
public sealed class VmCounters
{
    // One thread's counts: written by that thread only (Volatile.Write of its own plus the delta),
    // read by anyone with Volatile.Read.
    private sealed class Cells(VmCounters owner, int threadId)
    {
        public readonly VmCounters Owner = owner;
        public readonly int ThreadId = threadId;
        public long FastHitCalls, FastGetPages, FastPinPages;
        public long SlowCalls, SlowGetPages, SlowPinPages;
        public long RefusedCalls, Fallbacks, Faults, KernelPages, PinsReleased;
    }

    [ThreadStatic] private static Cells? t_last;      // the cells this thread used last (any counters)
    private readonly List<Cells> _all = [];           // guarded by itself; only ever grows

    // This thread's cells of these counters; created (once per thread) on the first add.
    private Cells Mine()
    {
        Cells? c = t_last;
        return c != null && ReferenceEquals(c.Owner, this) ? c : Attach();
    }

    private Cells Attach()
    {
        int id = Environment.CurrentManagedThreadId;
        lock (_all)
        {
            Cells? c = _all.Find(x => x.ThreadId == id);
            if (c == null) _all.Add(c = new Cells(this, id));
            t_last = c;
            return c;
        }
    }

    private static void Add(ref long cell, long delta) => Volatile.Write(ref cell, cell + delta);

    private long Sum(Func<Cells, long> read)
    {
        lock (_all)
        {
            long total = 0;
            foreach (Cells c in _all) total += read(c);
            return total;
        }
    }

    /// <summary>GUP calls of every kind (entry points of mm/gup.c), refused ones included.</summary>
    public long GupCalls => Sum(c => Volatile.Read(ref c.FastHitCalls) + Volatile.Read(ref c.SlowCalls) + Volatile.Read(ref c.RefusedCalls));

    /// <summary>Pages handed to GUP callers, through either path.</summary>
    public long GupPages => FastPathPages + Sum(c => Volatile.Read(ref c.SlowGetPages) + Volatile.Read(ref c.SlowPinPages));

    /// <summary>Calls that ended after the lockless walk: it got every page, or FOLL_FAST_ONLY forbade the slow path.</summary>
    public long FastPathHits => Sum(c => Volatile.Read(ref c.FastHitCalls));

    /// <summary>Pages the lockless walk obtained, in hits and fallbacks alike.</summary>
    public long FastPathPages => Sum(c => Volatile.Read(ref c.FastGetPages) + Volatile.Read(ref c.FastPinPages));

    /// <summary>Fast calls that handed a remainder to the slow path.</summary>
    public long SlowPathFallbacks => Sum(c => Volatile.Read(ref c.Fallbacks));

    /// <summary>Calls that ran the slow path (slow entry points and fast fallbacks).</summary>
    public long SlowPathCalls => Sum(c => Volatile.Read(ref c.SlowCalls));

    /// <summary>Calls refused before any walk (invalid flags, overflow, a range beyond TASK_SIZE_MAX).</summary>
    public long RefusedCalls => Sum(c => Volatile.Read(ref c.RefusedCalls));

    /// <summary>Page faults GUP took on its callers' behalf (<c>faultin_page</c>).</summary>
    public long GupFaults => Sum(c => Volatile.Read(ref c.Faults));

    /// <summary>Kernel pages (reached through a supervisor-only entry) ever handed out by a user GUP call:
    /// zero unless the 2017 fast path without its kernel-address checks is modelled.</summary>
    public long KernelPagesPinnedByUserGup => Sum(c => Volatile.Read(ref c.KernelPages));

    /// <summary><c>nr_foll_pin_acquired</c>: FOLL_PIN pins taken.</summary>
    public long PinsAcquired => Sum(c => Volatile.Read(ref c.FastPinPages) + Volatile.Read(ref c.SlowPinPages));

    /// <summary><c>nr_foll_pin_released</c>: FOLL_PIN pins dropped.</summary>
    public long PinsReleased => Sum(c => Volatile.Read(ref c.PinsReleased));

    /// <summary>Counts a call that ended after the lockless walk, and its pages.</summary>
    public void AddFastHit(long pages, bool pin)
    {
        Cells c = Mine();
        Add(ref c.FastHitCalls, 1);
        if (pages != 0) Add(ref pin ? ref c.FastPinPages : ref c.FastGetPages, pages);
    }

    /// <summary>Counts the pages a fast call's walk got before it fell back to the slow path.</summary>
    public void AddFallback(long fastPages, bool pin)
    {
        Cells c = Mine();
        Add(ref c.Fallbacks, 1);
        if (fastPages != 0) Add(ref pin ? ref c.FastPinPages : ref c.FastGetPages, fastPages);
    }

    /// <summary>Counts a slow-path run, the pages it handed out and the faults it took.</summary>
    public void AddSlow(long pages, bool pin, long faults)
    {
        Cells c = Mine();
        Add(ref c.SlowCalls, 1);
        if (pages != 0) Add(ref pin ? ref c.SlowPinPages : ref c.SlowGetPages, pages);
        if (faults != 0) Add(ref c.Faults, faults);
    }

    /// <summary>Counts a call refused before it walked.</summary>
    public void AddRefused() => Add(ref Mine().RefusedCalls, 1);

    /// <summary>Counts kernel pages a user GUP call handed out.</summary>
    public void AddKernelPages(long pages) => Add(ref Mine().KernelPages, pages);

    /// <summary>Counts FOLL_PIN pins dropped.</summary>
    public void AddPinsReleased(long pins) => Add(ref Mine().PinsReleased, pins);
}
