using Kiov.Fs;
using Kiov.Iov;
using Kiov.Mm;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Fs;

/// <summary>A pipe write of many whole pages copies them in one pass through the page tables; a
/// munmap that races it must still end the write at the page it took, as page-by-page copies would.</summary>
public class PipeRunCopyRaceTests
{
    private const int Page = 4096;

    [Fact]
    public void A_run_copy_racing_munmap_stops_at_the_page_it_unmapped()
    {
        using var k = new FsFixture();
        k.Map(A, 8 * Page);
        byte[] data = [.. Enumerable.Range(0, 8 * Page).Select(i => (byte)(i * 13 + 5))];
        k.Poke(A, data);
        var (r, w) = k.Pipe();
        Thread? unmapper = null;
        ulong victim = A + 5 * Page;
        k.P.Mm.AfterPteReadHook = addr =>
        {
            if (addr != A + 3 * Page) return;
            k.P.Mm.AfterPteReadHook = null;
            // munmap on another thread clears page 5's entry, then waits in Synchronize for this
            // copy, which is inside the walker gate: the copy must see the cleared entry.
            unmapper = new Thread(() => Assert.Equal(0L, Syscalls.Munmap(k.P, victim, Page)));
            unmapper.Start();
            SpinWait.SpinUntil(() => k.P.Mm.ReadPte(victim) == 0);
        };
        Assert.Equal(5L * Page, Syscalls.Writev(k.P, w, [new IoVec(A, 8 * Page)]));
        unmapper!.Join();
        k.Map(victim, Page);
        // The pipe holds exactly the five pages before the unmapped one, in order.
        Assert.Equal(3L * Page, Syscalls.Read(k.P, r, A + 5 * Page, 3 * Page));
        Assert.Equal(data.AsSpan(0, 3 * Page).ToArray(), k.Peek(A + 5 * Page, 3 * Page));
        Assert.Equal(2L * Page, Syscalls.Read(k.P, r, A + 5 * Page, 3 * Page));
        Assert.Equal(data.AsSpan(3 * Page, 2 * Page).ToArray(), k.Peek(A + 5 * Page, 2 * Page));
        Assert.Equal(0L, Syscalls.Close(k.P, r));
        Assert.Equal(0L, Syscalls.Close(k.P, w));
    }
}
