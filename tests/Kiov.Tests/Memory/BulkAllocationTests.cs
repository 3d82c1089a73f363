using Kiov.Memory;

namespace Kiov.Tests.Memory;

/// <summary>The allocator's batch calls (the pipe's fresh pages, pipe_read's and the page cache's
/// releases) must hand out and free the same frames as the page-by-page calls would; the batch
/// allocation hands them out in the order they were freed, so that freed runs stay runs.</summary>
public class BulkAllocationTests
{
    private static PhysicalMemory Small() => new(64 * PageGeometry.PageSize);

    // Frames freed in a scrambled order, so that the free list is not simply ascending; returns
    // the frames still held.
    private static Page[] Scramble(PhysicalMemory mem)
    {
        var pages = Enumerable.Range(0, 12).Select(_ => mem.Alloc(PageOwner.KernelBuffer)).ToArray();
        int[] freed = [5, 1, 9, 0, 11, 3, 7];
        foreach (int i in freed) mem.Put(pages[i]);
        return [.. pages.Where((_, i) => !freed.Contains(i))];
    }

    [Fact]
    public void AllocBulk_hands_out_the_frames_one_Alloc_after_another_would_in_the_order_they_were_freed()
    {
        using var one = Small();
        using var bulk = Small();
        Scramble(one);
        Scramble(bulk);
        var expected = Enumerable.Range(0, 10).Select(_ => one.Alloc(PageOwner.Pipe, zero: false)).ToArray();
        var got = new Page[10];
        Assert.Equal(10, bulk.AllocBulk(PageOwner.Pipe, got));
        Assert.Equal(expected.OrderBy(p => p.Pfn), got.OrderBy(p => p.Pfn)); // the same frames
        // Alloc takes the last freed first; the batch takes the free list's frames in the order they
        // went on it (5, 1, 9, 0, 11, 3, 7 of Scramble), then never-used frames ascending.
        Assert.Equal(expected[..7].Reverse(), got[..7]);
        Assert.Equal(expected[7..], got[7..]);
        Assert.All(got, p => Assert.Equal(1, bulk.RefCount(p)));
        Assert.Equal(one.FreeFrames, bulk.FreeFrames);
    }

    [Fact]
    public void AllocBulk_after_pages_freed_in_order_hands_them_out_ascending()
    {
        using var mem = Small();
        var pages = new Page[16];
        Assert.Equal(16, mem.AllocBulk(PageOwner.Pipe, pages));
        Assert.All(Enumerable.Range(1, 15), i => Assert.Equal(pages[0].Pfn + i, pages[i].Pfn));
        mem.PutPages(pages);                       // as pipe_read frees them
        var again = new Page[16];
        Assert.Equal(16, mem.AllocBulk(PageOwner.Pipe, again));
        Assert.Equal(pages, again);                // consecutive frames again: one memmove per run
        mem.PutPages(again);
        Assert.Empty(mem.LeakReport());
    }

    [Fact]
    public void FreeUnused_puts_the_free_list_back_as_it_was()
    {
        using var mem = Small();
        Page[] held = Scramble(mem);
        int free = mem.FreeFrames;
        var first = new Page[6];
        Assert.Equal(6, mem.AllocBulk(PageOwner.Pipe, first));
        mem.FreeUnused(first.AsSpan(2));          // only two were used
        Assert.Equal(free - 2, mem.FreeFrames);
        var next = new Page[4];
        Assert.Equal(4, mem.AllocBulk(PageOwner.Pipe, next));
        Assert.Equal(first[2..], next);            // the same frames, in the same order
        foreach (Page p in first[..2].Concat(next).Concat(held)) mem.Put(p);
        Assert.Empty(mem.LeakReport());
    }

    [Fact]
    public void AllocBulk_counts_a_failure_only_when_it_gets_nothing()
    {
        using var mem = Small();
        var all = new Page[mem.FreeFrames + 5];
        int got = mem.AllocBulk(PageOwner.Pipe, all);
        Assert.Equal(0, mem.FreeFrames);
        Assert.Equal(0, mem.AllocFailures);
        Assert.Equal(0, mem.AllocBulk(PageOwner.Pipe, new Page[3]));
        Assert.Equal(1, mem.AllocFailures);
        mem.PutPages(all.AsSpan(0, got));
        Assert.Empty(mem.LeakReport());
    }

    [Fact]
    public void PutPages_drops_one_reference_each_and_frees_in_order()
    {
        using var one = Small();
        using var batch = Small();
        Page[] a = Enumerable.Range(0, 8).Select(_ => one.Alloc(PageOwner.Pipe)).ToArray();
        Page[] b = Enumerable.Range(0, 8).Select(_ => batch.Alloc(PageOwner.Pipe)).ToArray();
        one.Get(a[3]);
        batch.Get(b[3]);                           // a second holder: that page must survive
        foreach (Page p in a) one.Put(p);
        batch.PutPages(b);
        Assert.Equal(1, batch.RefCount(b[3]));
        Assert.Equal(one.FreeFrames, batch.FreeFrames);
        var nextOne = Enumerable.Range(0, 7).Select(_ => one.Alloc(PageOwner.Pipe)).ToArray();
        var nextBatch = Enumerable.Range(0, 7).Select(_ => batch.Alloc(PageOwner.Pipe)).ToArray();
        Assert.Equal(nextOne, nextBatch);
        foreach (Page p in nextOne.Append(a[3])) one.Put(p);
        foreach (Page p in nextBatch) batch.Put(p);
        batch.Put(b[3]);
        Assert.Empty(one.LeakReport());
        Assert.Empty(batch.LeakReport());
    }

    [Fact]
    public void FreeSoleHeld_frees_as_PutPages_does_and_refuses_a_page_someone_else_holds()
    {
        using var one = Small();
        using var sole = Small();
        Page[] a = Enumerable.Range(0, 8).Select(_ => one.Alloc(PageOwner.Pipe)).ToArray();
        Page[] b = Enumerable.Range(0, 8).Select(_ => sole.Alloc(PageOwner.Pipe)).ToArray();
        one.PutPages(a);
        sole.FreeSoleHeld(b);
        Assert.Equal(one.FreeFrames, sole.FreeFrames);
        var nextOne = new Page[8];
        var nextSole = new Page[8];
        Assert.Equal(8, one.AllocBulk(PageOwner.Pipe, nextOne));
        Assert.Equal(8, sole.AllocBulk(PageOwner.Pipe, nextSole));
        Assert.Equal(nextOne, nextSole);           // the same free list
        sole.Get(nextSole[2]);                     // a second holder
        Assert.Throws<KiovBugException>(() => sole.FreeSoleHeld(nextSole.AsSpan(2, 1)));
        sole.Put(nextSole[2]);
        one.PutPages(nextOne);
        sole.FreeSoleHeld(nextSole);
        Assert.Empty(one.LeakReport());
        Assert.Empty(sole.LeakReport());
    }
}
