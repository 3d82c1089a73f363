using System.Runtime.CompilerServices;
using Kiov.Concurrency;
using Kiov.Memory;

namespace Kiov.Mm;

/// <summary>
/// The page lock (<c>PG_locked</c>): a bit in the page's flags that truncation holds while it drops the
/// page, and that a fault of a file page waits on (<c>filemap_fault</c>'s <c>lock_folio_maybe_drop_mmap</c>).
/// Waiters sleep on one wait table per machine shared by all its pages, as on the kernel's hashed
/// <c>folio_wait_table</c>.
/// </summary>
internal static class PageLock
{
    private sealed class WaitTable
    {
        public int Waiters; // guarded by the table itself
    }

    private static readonly ConditionalWeakTable<PhysicalMemory, WaitTable> s_tables = new();

    private static WaitTable TableOf(PhysicalMemory mem) => s_tables.GetValue(mem, static _ => new WaitTable());

    /// <summary><c>folio_trylock</c>: sets PG_locked if it was clear.</summary>
    public static bool TryLock(PhysicalMemory mem, Page page)
    {
        WaitTable table = TableOf(mem);
        Sched.Lock(table);
        lock (table)
        {
            if ((mem.Flags(page) & PageFlags.Locked) != 0) return false;
            mem.SetFlags(page, PageFlags.Locked);
            return true;
        }
    }

    /// <summary><c>folio_lock</c> (<c>__folio_lock</c>): waits until PG_locked is clear, then sets it.</summary>
    public static void Lock(PhysicalMemory mem, Page page)
    {
        WaitTable table = TableOf(mem);
        Sched.Lock(table);
        lock (table)
        {
            while ((mem.Flags(page) & PageFlags.Locked) != 0)
            {
                table.Waiters++;
                try { Sched.Wait(table); }
                finally { table.Waiters--; }
            }
            mem.SetFlags(page, PageFlags.Locked);
        }
    }

    /// <summary><c>folio_unlock</c>: clears PG_locked and wakes its waiters.</summary>
    public static void Unlock(PhysicalMemory mem, Page page)
    {
        WaitTable table = TableOf(mem);
        Sched.Lock(table);
        lock (table)
        {
            if ((mem.Flags(page) & PageFlags.Locked) == 0) ThrowHelper.Bug("folio_unlock of a page that is not locked");
            mem.ClearFlags(page, PageFlags.Locked);
            Sched.PulseAll(table);
        }
    }

    /// <summary>How many threads of <paramref name="mem"/>'s machine sleep on a page lock
    /// (<c>folio_waitqueue</c> is non-empty): for tests that must know a waiter is asleep.</summary>
    public static int Waiters(PhysicalMemory mem)
    {
        WaitTable table = TableOf(mem);
        Sched.Lock(table);
        lock (table) return table.Waiters;
    }
}
