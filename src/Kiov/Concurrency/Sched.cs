using System.Runtime.CompilerServices;

namespace Kiov.Concurrency;

/// <summary>
/// The model's scheduling hooks. The kernel code calls them where a real kernel could switch to
/// another task (<see cref="SchedPoint"/>); with no <see cref="Controller"/> attached each is one load
/// of a static field and a branch not taken. A thread a controller runs parks at each hook until the
/// controller picks it again, so the controller decides every interleaving.
/// </summary>
internal static class Sched
{
    // Number of live controllers: the only thing the production path reads.
    internal static int s_attached;

    [ThreadStatic] internal static ModelThread? t_current;

    /// <summary>The calling thread's index in the controller that runs it, or -1 when none does.</summary>
    internal static int CurrentIndex => t_current?.Index ?? -1;

    /// <summary>True while some controller runs threads: the model then takes the slower path that
    /// has a point wherever the kernel's has a place to switch (a copy page by page, not merged).</summary>
    internal static bool Attached => s_attached != 0;

    /// <summary>Frames only the calling controlled thread ever touches (a par thread's own runner
    /// buffer): their <see cref="SchedPoint.PageData"/> points are no places to switch, since no
    /// other thread can see what happens there. Nothing when no controller runs the caller.</summary>
    /// <param name="pfns">The frames' numbers.</param>
    internal static void OwnFrames(IEnumerable<ulong> pfns)
    {
        if (t_current is { } t) t.OwnFrames(pfns);
    }

    /// <summary>A point where another task may run (<c>cond_resched</c>, or any racy access).</summary>
    /// <param name="kind">What happens next.</param>
    /// <param name="obj">The object it touches (a lock, a gate, an address space).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Point(SchedPoint kind, object obj)
    {
        if (s_attached != 0) Slow(kind, obj, 0);
    }

    /// <summary>A point on <paramref name="obj"/> with a detail <paramref name="key"/> that says which
    /// of its kind it is (<see cref="ReadUnlockKey"/>: an <see cref="SchedPoint.MmapUnlock"/> that drops a read lock).</summary>
    /// <param name="kind">What happens next.</param>
    /// <param name="obj">The object it touches.</param>
    /// <param name="key">The detail.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Point(SchedPoint kind, object obj, ulong key)
    {
        if (s_attached != 0) Slow(kind, obj, key);
    }

    /// <summary>The key of an <see cref="SchedPoint.MmapUnlock"/> that drops a read lock (<c>mmap_read_unlock</c>).</summary>
    internal const ulong ReadUnlockKey = 1;

    /// <summary>Set in the key of a <see cref="SchedPoint.PageRef"/> that drops references
    /// (<c>put_page</c>, <c>unpin_user_page</c>); clear for one that takes them.</summary>
    internal const ulong RefDropBit = 1UL << 63;

    /// <summary>A point touching a page-table entry or a frame, named by <paramref name="key"/> (the
    /// entry's address, or the frame number).</summary>
    /// <param name="kind">What happens next.</param>
    /// <param name="key">The entry's address, or the page frame number.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Point(SchedPoint kind, ulong key)
    {
        if (s_attached != 0) Slow(kind, null, key);
    }

    /// <summary>Before <c>lock (<paramref name="monitor"/>)</c> of a lock held across other points
    /// (<c>mutex_lock</c>): a controlled thread runs on only when no other holds it.</summary>
    /// <param name="monitor">The lock object.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lock(object monitor)
    {
        if (s_attached != 0) Slow(SchedPoint.Lock, monitor, 0);
    }

    /// <summary>Before taking two locks in a row (<c>pipe_double_lock</c>): runs on only when both are free.</summary>
    /// <param name="first">The lock taken first.</param>
    /// <param name="second">The lock taken second.</param>
    public static void Lock(object first, object second)
    {
        if (s_attached != 0 && t_current is { } t) t.Park(new Step(SchedPoint.Lock, first, 0), second);
    }

    /// <summary><see cref="Monitor.Wait(object)"/>, which a controlled thread does by parking until a
    /// <see cref="PulseAll"/> on the same monitor (<c>wait_event</c>): the caller holds the monitor once
    /// and re-checks its condition in a loop.</summary>
    /// <param name="monitor">The held monitor.</param>
    public static void Wait(object monitor)
    {
        if (s_attached != 0 && t_current is { } t) t.Wait(monitor);
        else Monitor.Wait(monitor);
    }

    /// <summary><see cref="Monitor.PulseAll(object)"/>, also waking controlled threads waiting on it (<c>wake_up</c>).</summary>
    /// <param name="monitor">The held monitor.</param>
    public static void PulseAll(object monitor)
    {
        Monitor.PulseAll(monitor);
        if (s_attached != 0 && t_current is { } t) t.Controller.Pulse(monitor);
    }

    /// <summary>One turn of a loop that waits for other threads to move <paramref name="obj"/> (the
    /// walker gate's grace period): a controlled thread parks until another touched it. Returns false
    /// when no controller runs this thread, and the caller spins as usual.</summary>
    /// <param name="obj">What the loop waits on.</param>
    public static bool Spin(object obj)
    {
        if (s_attached == 0 || t_current is not { } t) return false;
        t.Spin(obj);
        return true;
    }

    /// <summary>Runs <paramref name="f"/> with no points for the calling thread: a test's look at the
    /// model from inside a hook, which must not itself become a place to switch.</summary>
    /// <param name="f">The look.</param>
    public static T Quietly<T>(Func<T> f)
    {
        if (t_current is not { } t) return f();
        bool was = t.Quiet;
        t.Quiet = true;
        try { return f(); }
        finally { t.Quiet = was; }
    }

    private static void Slow(SchedPoint kind, object? obj, ulong key)
    {
        if (t_current is { } t && !(kind == SchedPoint.PageData && obj is null && t.OwnsFrame(key)))
            t.Park(new Step(kind, obj, key));
    }
}
