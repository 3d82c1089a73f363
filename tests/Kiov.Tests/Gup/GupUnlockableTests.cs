using Kiov.Fs;
using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Batch;
using Kiov.Tests.Fs;
using Kiov.Uaccess;

namespace Kiov.Tests.Gup;

/// <summary>
/// The slow path that drops the mmap lock (__get_user_pages_locked with FOLL_UNLOCKABLE): a fault of a
/// file page whose lock another thread holds (as truncation does) sleeps without the mmap lock, returns
/// VM_FAULT_RETRY, and GUP re-takes the lock and faults the page again with FOLL_TRIED.
/// </summary>
public sealed class GupUnlockableTests
{
    private const int P = PageGeometry.PageSize;
    private const ulong M = FsFixture.A + 0x100000;

    // A shared mapping at M of a memfd of 'pages' pages, each cached (written) and none mapped yet.
    private static int MapMemfd(FsFixture k, int pages)
    {
        k.Map(FsFixture.A, P);
        k.Poke(FsFixture.A, Enumerable.Repeat((byte)0x5a, P).ToArray());
        int fd = (int)Syscalls.MemfdCreate(k.P, "gup", 0);
        for (int i = 0; i < pages; i++) Assert.Equal((long)P, Syscalls.Pwritev(k.P, fd, [new(FsFixture.A, (ulong)P)], (long)i * P));
        Assert.Equal((long)M, Syscalls.Mmap(k.P, M, (ulong)(pages * P), Prot.Read | Prot.Write, MapFlags.Shared | MapFlags.Fixed, fd, 0));
        return fd;
    }

    private static Page CachedPage(FsFixture k, int fd, long index)
    {
        var f = (MemfdFile)k.P.Files.Get(fd)!;
        Page page = f.Cache.Find(index);
        f.Put();
        Assert.False(page.IsNull);
        return page;
    }

    // Until the worker sleeps on a page lock (it cannot finish before: the page is locked).
    private static void WaitForPageLockWaiter(FsFixture k, IWorker worker)
    {
        while (PageLock.Waiters(k.Kernel.Memory) == 0)
        {
            Assert.False(worker.IsCompleted, "GUP finished while the page was locked");
            Thread.Yield();
        }
    }

    // The page lock the test holds "for another thread"; released on dispose if a failed assertion
    // left it held, so that the sleeping worker ends instead of hanging the run.
    private sealed class HeldPageLock(PhysicalMemory mem, Page page) : IDisposable
    {
        private bool _held = Take(mem, page);

        private static bool Take(PhysicalMemory mem, Page page)
        {
            PageLock.Lock(mem, page);
            return true;
        }

        public void Release()
        {
            if (!_held) return;
            _held = false;
            PageLock.Unlock(mem, page);
        }

        public void Dispose() => Release();
    }

    private interface IWorker { bool IsCompleted { get; } }

    // A thread of its own (the fault sleeps in it); Result joins it and rethrows what it threw.
    private sealed class Worker<T> : IWorker
    {
        private readonly Thread _thread;
        private T _result = default!;
        private Exception? _error;
        private volatile bool _done;

        public Worker(Func<T> body)
        {
            _thread = new Thread(() =>
            {
                try { _result = body(); }
                catch (Exception e) { _error = e; }
                finally { _done = true; }
            }) { IsBackground = true };
            _thread.Start();
        }

        public bool IsCompleted => _done;

        public T Result
        {
            get
            {
                _thread.Join();
                if (_error != null) throw new InvalidOperationException("the worker failed", _error);
                return _result;
            }
        }
    }

    private static class Worker
    {
        public static Worker<T> Run<T>(Func<T> body) => new(body);
    }

    private static void Release(FsFixture k, Page[] pages, bool pin)
    {
        if (pin) UserPages.UnpinUserPages(k.Kernel.Space, pages);
        else UserPages.PutPages(k.Kernel.Memory, pages);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UnlockedCallsDropTheMmapLockWhileAFaultWaitsForALockedPageThenRetry(bool pin)
    {
        using var k = new FsFixture();
        int fd = MapMemfd(k, 3);
        AddressSpace mm = k.P.Mm;
        Page busy = CachedPage(k, fd, 1);
        long faultsBefore = k.Kernel.Space.Counters.GupFaults;
        using var heldBusy = new HeldPageLock(k.Kernel.Memory, busy); // held by this thread, as truncation holds it while it works
        var pages = new Page[3];
        var worker = Worker.Run(() => pin ? UserPages.PinUserPagesUnlocked(mm, M, 3, Foll.Write, pages)
                                        : UserPages.GetUserPagesUnlocked(mm, M, 3, Foll.Write, pages));
        WaitForPageLockWaiter(k, worker);
        // The fault sleeps without the mmap lock: another thread can take it for writing meanwhile.
        Assert.True(mm.MmapLock.TryWriteLock());
        Assert.False(worker.IsCompleted);
        mm.MmapLock.WriteUnlock();
        heldBusy.Release();
        Assert.Equal(3L, worker.Result);
        Assert.Equal([CachedPage(k, fd, 0), busy, CachedPage(k, fd, 2)], pages);
        // Pages 0 and 2 once, page 1 twice: the fault that gave up and its FOLL_TRIED retry.
        Assert.Equal(4, k.Kernel.Space.Counters.GupFaults - faultsBefore);
        Assert.False(PageLock.Waiters(k.Kernel.Memory) > 0);
        Release(k, pages, pin);
        Assert.Equal(0L, Syscalls.Close(k.P, fd));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ALockedPointerCallerSeesLockedTurnFalseWhenTheFaultDroppedTheLock(bool pin)
    {
        using var k = new FsFixture();
        int fd = MapMemfd(k, 3);
        AddressSpace mm = k.P.Mm;
        Page busy = CachedPage(k, fd, 2);
        using var heldBusy = new HeldPageLock(k.Kernel.Memory, busy);
        var pages = new Page[3];
        var worker = Worker.Run(() =>
        {
            mm.MmapLock.ReadLock();
            bool locked = true;
            long n = pin ? UserPages.PinUserPagesRemote(mm, M, 3, Foll.Write, pages, ref locked)
                         : UserPages.GetUserPagesRemote(mm, M, 3, Foll.Write, pages, ref locked);
            bool held = MmapLock.HeldByCurrentThread;
            if (locked) mm.MmapLock.ReadUnlock();
            return (n, locked, held);
        });
        WaitForPageLockWaiter(k, worker);
        Assert.True(mm.MmapLock.TryWriteLock());
        mm.MmapLock.WriteUnlock();
        heldBusy.Release();
        Assert.Equal((3L, false, false), worker.Result); // dropped on the way: released on return, not the caller's to unlock
        Assert.Equal(busy, pages[2]);
        Release(k, pages, pin);

        // No page to wait for: the lock stays held and *locked stays 1; the caller unlocks.
        mm.MmapLock.ReadLock();
        bool stays = true;
        Assert.Equal(3L, UserPages.GetUserPagesRemote(mm, M, 3, Foll.Write, pages, ref stays));
        Assert.True(stays);
        Assert.True(MmapLock.HeldByCurrentThread);
        mm.MmapLock.ReadUnlock();
        UserPages.PutPages(k.Kernel.Memory, pages);

        // is_valid_gup_args: a locked pointer must come in set.
        bool notHeld = false;
        Assert.Equal(-Errno.EINVAL, UserPages.GetUserPagesRemote(mm, M, 3, Foll.Write, pages, ref notHeld));
        Assert.Equal(0L, Syscalls.Close(k.P, fd));
    }

    [Fact]
    public void WithoutFollUnlockableTheFaultWaitsHoldingTheMmapLock()
    {
        using var k = new FsFixture();
        int fd = MapMemfd(k, 2);
        AddressSpace mm = k.P.Mm;
        Page busy = CachedPage(k, fd, 0);
        long faultsBefore = k.Kernel.Space.Counters.GupFaults;
        using var heldBusy = new HeldPageLock(k.Kernel.Memory, busy);
        var pages = new Page[2];
        var worker = Worker.Run(() =>
        {
            using (mm.MmapLock.Read()) return UserPages.GetUserPages(mm, M, 2, Foll.Write, pages);
        });
        WaitForPageLockWaiter(k, worker);
        Assert.False(mm.MmapLock.TryWriteLock()); // the sleeping fault still holds the read lock
        heldBusy.Release();
        Assert.Equal(2L, worker.Result);
        Assert.Equal(2, k.Kernel.Space.Counters.GupFaults - faultsBefore); // no retry: one fault a page
        UserPages.PutPages(k.Kernel.Memory, pages);

        // FOLL_NOWAIT: the fault gives up at once, keeping the lock; the walk stops before that page.
        Assert.Equal(0L, Syscalls.Madvise(k.P, M, 2 * P, Madv.DontNeed));
        Page second = CachedPage(k, fd, 1);
        using var heldSecond = new HeldPageLock(k.Kernel.Memory, second);
        Assert.Equal(1L, UserPages.GetUserPagesUnlocked(mm, M, 2, Foll.NoWait, pages));
        Assert.False(MmapLock.HeldByCurrentThread);
        heldSecond.Release();
        UserPages.PutPages(k.Kernel.Memory, pages.AsSpan(0, 1));
        Assert.Equal(0L, Syscalls.Close(k.P, fd));
    }

    [Fact]
    public void TheBatchConsumerNeverRunsWithTheMmapLockHeldWhenTheSlowPathDroppedAndRetookIt()
    {
        using var k = new FsFixture();
        int fd = MapMemfd(k, 6);
        AddressSpace mm = k.P.Mm;
        Page busy = CachedPage(k, fd, 3);
        using var heldBusy = new HeldPageLock(k.Kernel.Memory, busy);
        IoVec[] iov = [new(M + 10, (ulong)(2 * P)), new(M + 3 * P, (ulong)(3 * P - 5))];
        ulong total = (ulong)(5 * P - 5);
        long pinsBefore = k.Kernel.Space.Counters.PinsAcquired;
        var worker = Worker.Run(() =>
        {
            var it = IovIter.Init(false, mm, iov, iov.Length, total);
            var r = new Recorder(k.Kernel.Memory);
            long n = it.ForEachPageBatch(ulong.MaxValue, ref r);
            return (n, r.Seen);
        });
        WaitForPageLockWaiter(k, worker);
        Assert.True(mm.MmapLock.TryWriteLock());
        mm.MmapLock.WriteUnlock();
        heldBusy.Release();
        var (done, seen) = worker.Result;
        Assert.Equal((long)total, done);
        Assert.Equal(total, (ulong)seen.Sum(s => (long)s.Bytes));
        Assert.Contains(seen, s => s.Pages.Contains(busy));
        Assert.All(seen, s => Assert.False(s.LockHeld));
        Assert.All(seen, s => Assert.All(s.Data, b => Assert.Equal(0x5a, b)));
        Assert.True(k.Kernel.Space.Counters.PinsAcquired > pinsBefore);
        Assert.Equal(k.Kernel.Space.Counters.PinsAcquired, k.Kernel.Space.Counters.PinsReleased);
        Assert.Equal(0L, Syscalls.Close(k.P, fd));
    }
}
