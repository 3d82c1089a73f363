using Kiov.Fs;
using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Tests.Fs;
using Kiov.Tests.Support;

namespace Kiov.Tests.Mm;

/// <summary>
/// The lock contracts are checked, not only written (debug builds, which the tests run): a function
/// whose caller must hold the mmap lock or a pipe's lock asserts it, as the kernel's
/// <c>mmap_assert_locked</c> and <c>lockdep_assert_held</c> do. Each test makes the same call with
/// the lock and without it: taking the lock away makes the call fail.
/// </summary>
public class LockAssertTests
{
    private const ulong A = KernelFixture.Arena;

#if !DEBUG
    // The assertions exist only in debug builds; in a release build these tests would prove nothing.
    [Fact]
    public void The_tests_run_a_debug_build() => Assert.Fail("run the tests on a Debug build: the lock assertions are compiled out");
#endif

    [Fact]
    public void Get_user_pages_needs_the_mmap_lock()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4096);
        var pages = new Page[1];
        using (k.Mm.MmapLock.Read())
            Assert.Equal(1L, UserPages.GetUserPages(k.Mm, A, 1, Foll.Write, pages));
        k.Memory.Put(pages[0]);

        var e = Assert.Throws<KiovBugException>(() => UserPages.GetUserPages(k.Mm, A, 1, Foll.Write, pages));
        Assert.Contains("mmap_assert_locked", e.Message);
        Assert.Equal(1, k.Memory.RefCount(pages[0])); // nothing was taken
    }

    [Fact]
    public void Handle_mm_fault_needs_the_mmap_lock()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 2 * 4096);
        Vma vma;
        using (k.Mm.MmapLock.Read())
        {
            vma = k.Mm.FindVma(A)!;
            Assert.Equal(0, k.Mm.HandleMmFault(vma, A, write: true));
        }
        var e = Assert.Throws<KiovBugException>(() => k.Mm.HandleMmFault(vma, A + 4096, write: true));
        Assert.Contains("mmap_assert_locked", e.Message);
        Assert.Throws<KiovBugException>(() => k.Mm.FindVma(A));
    }

    [Fact]
    public void Another_threads_read_lock_is_not_this_threads()
    {
        using var k = new KernelFixture();
        k.MapAnon(A, 4096);
        using var held = new ManualResetEventSlim();
        using var done = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            k.Mm.MmapLock.ReadLock();
            held.Set();
            done.Wait();
            k.Mm.MmapLock.ReadUnlock();
        });
        holder.Start();
        held.Wait();
        try
        {
            Assert.Throws<KiovBugException>(() => k.Mm.FindVma(A));
            using (k.Mm.MmapLock.Read()) Assert.NotNull(k.Mm.FindVma(A)); // readers share it
        }
        finally
        {
            done.Set();
            holder.Join();
        }
    }

    [Fact]
    public void The_write_assertion_wants_the_write_lock()
    {
        using var k = new KernelFixture();
        using (k.Mm.MmapLock.Write())
        {
            k.Mm.MmapLock.AssertWriteLocked();
            k.Mm.MmapLock.AssertLocked();
        }
        using (k.Mm.MmapLock.Read())
        {
            var e = Assert.Throws<KiovBugException>(() => k.Mm.MmapLock.AssertWriteLocked());
            Assert.Contains("only for reading", e.Message);
        }
        Assert.Throws<KiovBugException>(() => k.Mm.MmapLock.AssertWriteLocked());
        Assert.Throws<KiovBugException>(() => k.Mm.MmapLock.AssertLocked());
    }

    [Fact]
    public void An_unlock_by_a_thread_that_does_not_hold_it_is_a_bug()
    {
        using var k = new KernelFixture();
        var e = Assert.Throws<KiovBugException>(() => k.Mm.MmapLock.ReadUnlock());
        Assert.Contains("does not hold", e.Message);
    }

    [Fact]
    public void Adding_to_a_pipe_needs_the_pipe_lock()
    {
        using var k = new FsFixture();
        var (r, _) = k.Pipe();
        Pipe pipe = k.PipeOf(r);
        Page page = k.Kernel.Memory.Alloc(PageOwner.Pipe);
        var buf = new PipeBuffer(page, 0, 10, PipeBufferKind.Anon);
        var e = Assert.Throws<KiovBugException>(() => pipe.AddLocked(buf));
        Assert.Contains("pipe->mutex", e.Message);
        Assert.Equal(0, pipe.Occupancy); // refused before it touched the ring
        lock (pipe.Lock) Assert.Equal(10L, pipe.AddLocked(buf));
        Assert.Equal(1, pipe.Occupancy);
    }
}
