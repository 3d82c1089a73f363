namespace Kiov.Mm;

/// <summary>
/// Event counters of the memory manager that a user can read (the GUP lines of <c>/proc/vmstat</c>,
/// <c>nr_foll_pin_acquired</c>/<c>nr_foll_pin_released</c>, and the model's own audit of kernel
/// pages reached through a user GUP call). Writers add with <see cref="Interlocked"/>, once per call
/// with the call's totals, never once per page.
/// </summary>
public sealed class VmCounters
{
    // Each field is changed only with Interlocked.Add and read with Interlocked.Read.
    private long _fastHitCalls, _fastGetPages, _fastPinPages;
    private long _slowCalls, _slowGetPages, _slowPinPages;
    private long _refusedCalls, _fallbacks, _faults, _kernelPages, _pinsReleased;

    /// <summary>GUP calls of every kind (entry points of mm/gup.c), refused ones included.</summary>
    public long GupCalls => FastPathHits + Interlocked.Read(ref _slowCalls) + Interlocked.Read(ref _refusedCalls);

    /// <summary>Pages handed to GUP callers, through either path.</summary>
    public long GupPages => FastPathPages + Interlocked.Read(ref _slowGetPages) + Interlocked.Read(ref _slowPinPages);

    /// <summary>Calls that ended after the lockless walk: it got every page, or FOLL_FAST_ONLY forbade the slow path.</summary>
    public long FastPathHits => Interlocked.Read(ref _fastHitCalls);

    /// <summary>Pages the lockless walk obtained, in hits and fallbacks alike.</summary>
    public long FastPathPages => Interlocked.Read(ref _fastGetPages) + Interlocked.Read(ref _fastPinPages);

    /// <summary>Fast calls that handed a remainder to the slow path.</summary>
    public long SlowPathFallbacks => Interlocked.Read(ref _fallbacks);

    /// <summary>Calls that ran the slow path (slow entry points and fast fallbacks).</summary>
    public long SlowPathCalls => Interlocked.Read(ref _slowCalls);

    /// <summary>Calls refused before any walk (invalid flags, overflow, a range beyond TASK_SIZE_MAX).</summary>
    public long RefusedCalls => Interlocked.Read(ref _refusedCalls);

    /// <summary>Page faults GUP took on its callers' behalf (<c>faultin_page</c>).</summary>
    public long GupFaults => Interlocked.Read(ref _faults);

    /// <summary>Kernel pages (reached through a supervisor-only entry) ever handed out by a user GUP call:
    /// zero unless the 2017 fast path without its kernel-address checks is modelled.</summary>
    public long KernelPagesPinnedByUserGup => Interlocked.Read(ref _kernelPages);

    /// <summary><c>nr_foll_pin_acquired</c>: FOLL_PIN pins taken.</summary>
    public long PinsAcquired => Interlocked.Read(ref _fastPinPages) + Interlocked.Read(ref _slowPinPages);

    /// <summary><c>nr_foll_pin_released</c>: FOLL_PIN pins dropped.</summary>
    public long PinsReleased => Interlocked.Read(ref _pinsReleased);

    /// <summary>Counts a call that ended after the lockless walk, and its pages.</summary>
    public void AddFastHit(long pages, bool pin)
    {
        Interlocked.Increment(ref _fastHitCalls);
        if (pages != 0) Interlocked.Add(ref pin ? ref _fastPinPages : ref _fastGetPages, pages);
    }

    /// <summary>Counts the pages a fast call's walk got before it fell back to the slow path.</summary>
    public void AddFallback(long fastPages, bool pin)
    {
        Interlocked.Increment(ref _fallbacks);
        if (fastPages != 0) Interlocked.Add(ref pin ? ref _fastPinPages : ref _fastGetPages, fastPages);
    }

    /// <summary>Counts a slow-path run, the pages it handed out and the faults it took.</summary>
    public void AddSlow(long pages, bool pin, long faults)
    {
        Interlocked.Increment(ref _slowCalls);
        if (pages != 0) Interlocked.Add(ref pin ? ref _slowPinPages : ref _slowGetPages, pages);
        if (faults != 0) Interlocked.Add(ref _faults, faults);
    }

    /// <summary>Counts a call refused before it walked.</summary>
    public void AddRefused() => Interlocked.Increment(ref _refusedCalls);

    /// <summary>Counts kernel pages a user GUP call handed out.</summary>
    public void AddKernelPages(long pages) => Interlocked.Add(ref _kernelPages, pages);

    /// <summary>Counts FOLL_PIN pins dropped.</summary>
    public void AddPinsReleased(long pins) => Interlocked.Add(ref _pinsReleased, pins);
}
