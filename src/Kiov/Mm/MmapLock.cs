using Kiov.Concurrency;
namespace Kiov.Mm;

/// <summary>
/// The mmap lock (<c>mm_struct::mmap_lock</c>, formerly <c>mmap_sem</c>): a reader-writer lock
/// built on <see cref="Monitor"/> so that Coyote can schedule it (DESIGN.md, Concurrency).
/// Writers are preferred: a waiting writer stops new readers, as the kernel's rwsem does, so a
/// reader must never take it twice.
/// </summary>
public sealed class MmapLock
{
    private readonly object _gate = new();
    private int _readers;         // guarded by _gate
    private bool _writer;         // guarded by _gate
    private int _waitingWriters;  // guarded by _gate

    [ThreadStatic] private static int t_held;

    /// <summary>True when the calling thread holds some mmap lock (of any address space), for
    /// asserting that a callback is never run under it (Al Viro's rule in the seed thread).</summary>
    public static bool HeldByCurrentThread => t_held > 0;

    /// <summary><c>mmap_read_lock</c>.</summary>
    public void ReadLock()
    {
        Sched.Point(SchedPoint.MmapRead, this);
        lock (_gate)
        {
            while (_writer || _waitingWriters > 0) Sched.Wait(_gate);
            _readers++;
        }
        t_held++;
    }

    /// <summary><c>mmap_read_trylock</c>.</summary>
    public bool TryReadLock()
    {
        Sched.Point(SchedPoint.MmapRead, this);
        lock (_gate)
        {
            if (_writer || _waitingWriters > 0) return false;
            _readers++;
        }
        t_held++;
        return true;
    }

    /// <summary><c>mmap_read_unlock</c>.</summary>
    public void ReadUnlock()
    {
        Sched.Point(SchedPoint.MmapUnlock, this);
        t_held--;
        lock (_gate)
        {
            if (_readers <= 0) throw new KiovBugException("mmap_read_unlock without the lock");
            if (--_readers == 0 && _waitingWriters > 0) Sched.PulseAll(_gate);
        }
    }

    /// <summary><c>mmap_write_lock</c>.</summary>
    public void WriteLock()
    {
        Sched.Point(SchedPoint.MmapWrite, this);
        lock (_gate)
        {
            _waitingWriters++;
            while (_writer || _readers > 0) Sched.Wait(_gate);
            _waitingWriters--;
            _writer = true;
        }
        t_held++;
    }

    /// <summary><c>mmap_write_unlock</c>.</summary>
    public void WriteUnlock()
    {
        Sched.Point(SchedPoint.MmapUnlock, this);
        t_held--;
        lock (_gate)
        {
            if (!_writer) throw new KiovBugException("mmap_write_unlock without the lock");
            _writer = false;
            Sched.PulseAll(_gate);
        }
    }

    /// <summary>Holds the lock for reading until disposed.</summary>
    public ReadScope Read() { ReadLock(); return new ReadScope(this); }

    /// <summary>Holds the lock for writing until disposed.</summary>
    public WriteScope Write() { WriteLock(); return new WriteScope(this); }

    /// <summary>A held read lock, released by <see cref="Dispose"/>.</summary>
    public readonly struct ReadScope(MmapLock owner) : IDisposable
    {
        /// <summary>Releases the read lock.</summary>
        public void Dispose() => owner.ReadUnlock();
    }

    /// <summary>A held write lock, released by <see cref="Dispose"/>.</summary>
    public readonly struct WriteScope(MmapLock owner) : IDisposable
    {
        /// <summary>Releases the write lock.</summary>
        public void Dispose() => owner.WriteUnlock();
    }
}
