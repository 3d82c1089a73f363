using System.Diagnostics;
using Kiov.Concurrency;
namespace Kiov.Mm;

/// <summary>
/// The mmap lock (<c>mm_struct::mmap_lock</c>, formerly <c>mmap_sem</c>): a reader-writer lock
/// built on <see cref="Monitor"/> so that Coyote can schedule it (README, Concurrency).
/// Writers are preferred: a waiting writer stops new readers, as the kernel's rwsem does, so a
/// reader must never take it twice.
/// </summary>
/// <remarks>
/// In debug builds the lock knows which threads hold it and how, as lockdep does for the kernel,
/// so that a function whose caller must hold it checks that with <see cref="AssertLocked"/> or
/// <see cref="AssertWriteLocked"/> (<c>mmap_assert_locked</c>, <c>mmap_assert_write_locked</c>).
/// Holding another thread's lock does not count: the lock is held by a thread, not by the process.
/// </remarks>
public sealed class MmapLock
{
    private readonly object _gate = new();
    private int _readers;         // guarded by _gate
    private bool _writer;         // guarded by _gate
    private int _waitingWriters;  // guarded by _gate

    [ThreadStatic] private static int t_held;

#if DEBUG
    private int _writerThread;    // the managed id of the thread holding it for writing, else 0
    // The mmap locks this thread holds for reading, one entry per acquisition (a thread holds at
    // most two: its own and, for remote GUP, the target's).
    [ThreadStatic] private static MmapLock?[]? t_readHeld;
    [ThreadStatic] private static int t_readHeldCount;
#endif

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
        NoteReadHeld();
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
        NoteReadHeld();
        return true;
    }

    /// <summary><c>mmap_read_unlock</c>.</summary>
    public void ReadUnlock()
    {
        Sched.Point(SchedPoint.MmapUnlock, this, Sched.ReadUnlockKey);
        NoteReadReleased();
        t_held--;
        lock (_gate)
        {
            if (_readers <= 0) ThrowHelper.Bug("mmap_read_unlock without the lock");
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
#if DEBUG
            _writerThread = Environment.CurrentManagedThreadId;
#endif
        }
        t_held++;
    }

    /// <summary><c>mmap_write_trylock</c>.</summary>
    public bool TryWriteLock()
    {
        Sched.Point(SchedPoint.MmapWrite, this);
        lock (_gate)
        {
            if (_writer || _readers > 0) return false;
            _writer = true;
#if DEBUG
            _writerThread = Environment.CurrentManagedThreadId;
#endif
        }
        t_held++;
        return true;
    }

    /// <summary><c>mmap_write_unlock</c>.</summary>
    public void WriteUnlock()
    {
        Sched.Point(SchedPoint.MmapUnlock, this);
        t_held--;
        lock (_gate)
        {
            if (!_writer) ThrowHelper.Bug("mmap_write_unlock without the lock");
#if DEBUG
            if (_writerThread != Environment.CurrentManagedThreadId) ThrowHelper.Bug("mmap_write_unlock by a thread that does not hold the lock");
            _writerThread = 0;
#endif
            _writer = false;
            Sched.PulseAll(_gate);
        }
    }

    /// <summary><c>mmap_assert_locked</c>: in debug builds, throws <see cref="KiovBugException"/>
    /// unless the calling thread holds this lock, for reading or for writing.</summary>
    [Conditional("DEBUG")]
    public void AssertLocked()
    {
#if DEBUG
        if (!IsWriteHeldByCurrentThread && !IsReadHeldByCurrentThread)
            ThrowHelper.Bug("mmap_assert_locked: this thread does not hold the mmap lock");
#endif
    }

    /// <summary><c>mmap_assert_write_locked</c>: in debug builds, throws <see cref="KiovBugException"/>
    /// unless the calling thread holds this lock for writing.</summary>
    [Conditional("DEBUG")]
    public void AssertWriteLocked()
    {
#if DEBUG
        if (!IsWriteHeldByCurrentThread)
            ThrowHelper.Bug(IsReadHeldByCurrentThread
                ? "mmap_assert_write_locked: this thread holds the mmap lock only for reading"
                : "mmap_assert_write_locked: this thread does not hold the mmap lock");
#endif
    }

#if DEBUG
    private bool IsWriteHeldByCurrentThread => Volatile.Read(ref _writerThread) == Environment.CurrentManagedThreadId;

    private bool IsReadHeldByCurrentThread
    {
        get
        {
            var held = t_readHeld;
            for (int i = 0; i < t_readHeldCount; i++)
                if (ReferenceEquals(held![i], this)) return true;
            return false;
        }
    }
#endif

    [Conditional("DEBUG")]
    private void NoteReadHeld()
    {
#if DEBUG
        var held = t_readHeld ??= new MmapLock?[4];
        if (t_readHeldCount == held.Length) Array.Resize(ref t_readHeld, held.Length * 2);
        t_readHeld![t_readHeldCount++] = this;
#endif
    }

    [Conditional("DEBUG")]
    private void NoteReadReleased()
    {
#if DEBUG
        var held = t_readHeld;
        for (int i = t_readHeldCount - 1; i >= 0; i--)
        {
            if (!ReferenceEquals(held![i], this)) continue;
            held[i] = held[--t_readHeldCount];
            held[t_readHeldCount] = null;
            return;
        }
        ThrowHelper.Bug("mmap_read_unlock by a thread that does not hold the lock");
#endif
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
