namespace Kiov.Concurrency;

/// <summary>What a parked thread will do when it runs next: the point it stopped at and what that
/// touches. Two steps commute (their order cannot change what either sees) when they touch different
/// things; the explorer's reduction skips orders of commuting steps.</summary>
/// <param name="Kind">The point.</param>
/// <param name="Obj">The object touched (a lock, a gate), or null for an entry or frame.</param>
/// <param name="Key">The entry's address or frame number when <paramref name="Obj"/> is null.</param>
internal record struct Step(SchedPoint Kind, object? Obj, ulong Key)
{
    private int Space => Kind switch
    {
        SchedPoint.PteRead or SchedPoint.PteWrite => 1,
        SchedPoint.PageRef or SchedPoint.PageData => 2,
        _ => 0,
    };

    /// <summary>True when the order of this step and <paramref name="other"/> may matter: both touching the same lock, gate, address space,
    /// entry or frame (its count or its bytes), unless both steps commute (two reads of an entry, two
    /// read-lock takings, two walkers entering or leaving the gate).</summary>
    /// <param name="other">A step of another thread.</param>
    public bool DependsOn(Step other)
    {
        // A thread's first step runs its op up to its first point: the op's own arguments and lookups
        // that no point of another thread changes (the fd table changes only outside par lines' points).
        if (Kind == SchedPoint.Start || other.Kind == SchedPoint.Start) return false;
        if (Space != other.Space) return false;
        if (Commutes(Kind, other.Kind) || ReadersCommute(this, other)) return false;
        if (Space == 0) return ReferenceEquals(Obj, other.Obj);
        if ((Key & ~Sched.RefDropBit) != (other.Key & ~Sched.RefDropBit)) return false;
        // Two takings of references commute (each adds, the one that finds the count zero fails in
        // either order), as do two drops (the count ends the same, the frame freed by whichever is
        // last); a taking and a drop do not (the drop may free the frame first).
        return !(Kind == SchedPoint.PageRef && other.Kind == SchedPoint.PageRef && (Key & Sched.RefDropBit) == (other.Key & Sched.RefDropBit));
    }

    // Pairs that commute on the same object: two reads of an entry, two read-lock takings of the mmap
    // lock (only a writer excludes a reader), two walkers entering or leaving the gate (counters).
    private static bool Commutes(SchedPoint a, SchedPoint b) =>
        (a == SchedPoint.PteRead && b == SchedPoint.PteRead)
        || (a == SchedPoint.MmapRead && b == SchedPoint.MmapRead)
        || (a is SchedPoint.GateEnter or SchedPoint.GateExit && b is SchedPoint.GateEnter or SchedPoint.GateExit)
        || (a == SchedPoint.Fault && b == SchedPoint.Fault);

    // Two readers of the mmap lock, one taking it and one dropping it, or both dropping it: in either
    // order each gets what it would alone. A reader cannot take the lock while a writer waits, so a
    // reader's drop that wakes a waiting writer leaves a racing reader waiting in both orders.
    private static bool ReadersCommute(Step a, Step b) =>
        IsReadUnlock(a) && (IsReadUnlock(b) || b.Kind == SchedPoint.MmapRead)
        || IsReadUnlock(b) && a.Kind == SchedPoint.MmapRead;

    private static bool IsReadUnlock(Step s) => s.Kind == SchedPoint.MmapUnlock && s.Key == Sched.ReadUnlockKey;

    /// <summary>A short name for reports.</summary>
    public override string ToString() => Obj is null
        ? $"{Kind}{(Kind == SchedPoint.PageRef && (Key & Sched.RefDropBit) != 0 ? "-" : "")}:0x{Key & ~Sched.RefDropBit:x}"
        : $"{Kind}:{Obj.GetType().Name}";
}
