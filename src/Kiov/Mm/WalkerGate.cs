using Kiov.Concurrency;
namespace Kiov.Mm;

/// <summary>
/// What keeps a lockless page-table walker safe: the kernel disables interrupts around the GUP-fast
/// walk, and frees page tables (and the pages a TLB flush covers) only after every CPU has taken
/// the flush IPI or passed an RCU grace period. The model does the same with two counters of
/// walkers, one per parity of an epoch: <see cref="Synchronize"/> flips the epoch and waits for
/// the walkers of the old parity to leave, so anything unlinked before it is unreachable after it.
/// </summary>
/// <remarks>
/// Nothing may block inside the gate (take a lock, wait, fault): a writer waiting in
/// <see cref="Synchronize"/> may hold the mmap lock. Counters and the epoch are touched only with
/// <see cref="Interlocked"/>/<see cref="Volatile"/>.
/// </remarks>
public sealed class WalkerGate
{
    private const int Stride = 16; // keeps the two counters on separate cache lines
    private readonly int[] _walkers = new int[Stride * 2]; // Interlocked
    private int _epoch;                                    // Interlocked; changed under _syncLock
    private readonly object _syncLock = new();
    private long _grace;

    /// <summary>Enters the gate (<c>local_irq_save</c> before a GUP-fast walk); returns the token for <see cref="Exit"/>.</summary>
    public int Enter()
    {
        Sched.Point(SchedPoint.GateEnter, this);
        while (true)
        {
            int epoch = Volatile.Read(ref _epoch);
            int slot = (epoch & 1) * Stride;
            Interlocked.Increment(ref _walkers[slot]);
            if (Volatile.Read(ref _epoch) == epoch) return slot;
            Interlocked.Decrement(ref _walkers[slot]);
        }
    }

    /// <summary>Leaves the gate (<c>local_irq_restore</c>).</summary>
    public void Exit(int token)
    {
        Sched.Point(SchedPoint.GateExit, this);
        Interlocked.Decrement(ref _walkers[token]);
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
            int slot = (old & 1) * Stride;
            var spin = new SpinWait();
            while (Volatile.Read(ref _walkers[slot]) != 0) { if (!Sched.Spin(this)) spin.SpinOnce(); }
            _grace++;
        }
    }

    /// <summary>The current epoch: it moves when a <see cref="Synchronize"/> begins, so a walker (or a
    /// test inside the gate) can see that a writer is now waiting for it. Never blocks.</summary>
    public int Epoch => Volatile.Read(ref _epoch);

    /// <summary>How many grace periods have completed.</summary>
    public long GracePeriods { get { lock (_syncLock) return _grace; } }
}
