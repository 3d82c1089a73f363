using Kiov.Concurrency;
namespace Kiov.Mm;

/// <summary>
/// What keeps a lockless page-table walker safe: the kernel disables interrupts around the GUP-fast
/// walk, and frees page tables (and the pages a TLB flush covers) only after every CPU has taken
/// the flush IPI or passed an RCU grace period. The model does the same: each walker thread counts
/// its entries in its own slot, one count per parity of an epoch, with plain writes (as cheap as
/// disabling interrupts: no locked instruction); <see cref="Synchronize"/> flips the epoch, makes
/// every thread's pending writes visible with a process-wide barrier (the IPI), and waits for the
/// counts of the old parity to drain, so anything unlinked before it is unreachable after it.
/// </summary>
/// <remarks>
/// <para>Nothing may block inside the gate (take a lock, wait, fault): a writer waiting in
/// <see cref="Synchronize"/> may hold the mmap lock. A walker leaves the gate on the thread that
/// entered it.</para>
/// <para>Why plain writes suffice: a walker writes its count, then reads the epoch again. If the
/// barrier of a <see cref="Synchronize"/> reaches the walker's CPU after that write, the writer sees
/// the count and waits; if before, the walker's re-read comes after the flip, so it moves to the new
/// parity (which this grace period does not wait for) and every entry it reads afterwards was
/// written before the barrier.</para>
/// </remarks>
internal sealed class WalkerGate
{
    // One thread's entries, by parity; written only by that thread. Padded so that two threads'
    // slots never share a cache line.
    private sealed class Slot(WalkerGate owner, int threadId, int index)
    {
#pragma warning disable CS0169 // padding
        private readonly long _pad0, _pad1, _pad2, _pad3, _pad4, _pad5, _pad6;
#pragma warning restore CS0169
        public readonly WalkerGate Owner = owner;
        public readonly int ThreadId = threadId;
        public readonly int Index = index;  // its place in _slots, which only ever grows
        public long Even, Odd;
#pragma warning disable CS0169
        private readonly long _pad7, _pad8, _pad9, _pad10, _pad11, _pad12, _pad13;
#pragma warning restore CS0169
    }

    [ThreadStatic] private static Slot? t_slot;   // this thread's slot in the gate it used last
    private Slot[] _slots = [];                   // copy-on-write under _slotsLock; read with Volatile
    private readonly object _slotsLock = new();   // never held while waiting: a walker may register inside the gate
    private int _epoch;                           // Volatile; changed under _syncLock
    private readonly object _syncLock = new();
    private long _grace;

    /// <summary>Enters the gate (<c>local_irq_save</c> before a GUP-fast walk); returns the token for <see cref="Exit"/>.</summary>
    public int Enter()
    {
        Sched.Point(SchedPoint.GateEnter, this);
        Slot s = MySlot();
        while (true)
        {
            int epoch = Volatile.Read(ref _epoch);
            ref long count = ref (epoch & 1) == 0 ? ref s.Even : ref s.Odd;
            Volatile.Write(ref count, count + 1);
            if (Volatile.Read(ref _epoch) == epoch) return (s.Index << 1) | (epoch & 1);
            Volatile.Write(ref count, count - 1);
        }
    }

    /// <summary>Leaves the gate (<c>local_irq_restore</c>), on the thread that entered it. The token
    /// names the thread's slot and the parity it counted in, so leaving needs no thread-local look-up.</summary>
    public void Exit(int token)
    {
        Sched.Point(SchedPoint.GateExit, this);
        Slot s = Volatile.Read(ref _slots)[token >> 1];
        ref long count = ref (token & 1) == 0 ? ref s.Even : ref s.Odd;
        Volatile.Write(ref count, count - 1);
    }

    /// <summary>In debug builds, throws <see cref="KiovBugException"/> unless the calling thread is
    /// inside this gate (<c>lockdep_assert_irqs_disabled</c> for a lockless walk).</summary>
    [System.Diagnostics.Conditional("DEBUG")]
    internal void AssertEntered()
    {
        Slot? s = t_slot;
        if (s == null || !ReferenceEquals(s.Owner, this) || Volatile.Read(ref s.Even) + Volatile.Read(ref s.Odd) <= 0)
            ThrowHelper.Bug("page-table cursor used outside the walker gate it was made for");
    }

    private Slot MySlot()
    {
        Slot? s = t_slot;
        return s != null && ReferenceEquals(s.Owner, this) ? s : Register();
    }

    // The thread's first entry (or its first since it used another gate): find or add its slot.
    private Slot Register()
    {
        int id = Environment.CurrentManagedThreadId;
        lock (_slotsLock)
        {
            // Found again by thread id (the ThreadStatic remembers one gate only). A dead thread's
            // id may come back on a new thread: its slot is balanced, so the new thread may take it.
            // A slot published after a Synchronize took its snapshot belongs to a walker that will
            // read the new epoch after its count, and so is not one that Synchronize must wait for.
            foreach (Slot mine in _slots)
                if (mine.ThreadId == id) return t_slot = mine;
            var s = new Slot(this, id, _slots.Length);
            Volatile.Write(ref _slots, [.. _slots, s]);
            return t_slot = s;
        }
    }

    /// <summary>Waits until every walker that might have seen something unlinked before this call
    /// has left (<c>synchronize_rcu</c>, or the TLB-flush IPI that waits on IRQs-off walkers).</summary>
    public void Synchronize()
    {
        Sched.Point(SchedPoint.GateSync, this);
        Sched.Lock(_syncLock);
        lock (_syncLock)
        {
            int old = Volatile.Read(ref _epoch);
            Interlocked.Exchange(ref _epoch, old + 1);
            Interlocked.MemoryBarrierProcessWide();
            var spin = new SpinWait();
            foreach (Slot s in Volatile.Read(ref _slots))
            {
                ref long count = ref (old & 1) == 0 ? ref s.Even : ref s.Odd;
                while (Volatile.Read(ref count) != 0) { if (!Sched.Spin(this)) spin.SpinOnce(); }
            }
            _grace++;
        }
    }

    /// <summary>The current epoch: it moves when a <see cref="Synchronize"/> begins, so a walker (or a
    /// test inside the gate) can see that a writer is now waiting for it. Never blocks.</summary>
    public int Epoch => Volatile.Read(ref _epoch);

    /// <summary>How many grace periods have completed.</summary>
    public long GracePeriods { get { lock (_syncLock) return _grace; } }
}
