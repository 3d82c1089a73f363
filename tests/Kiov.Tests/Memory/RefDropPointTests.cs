using Kiov.Concurrency;
using Kiov.Memory;
using Kiov.Tests.Support;

namespace Kiov.Tests.Memory;

/// <summary>Every path that drops page references tells the scheduler it is a drop, so the explorer's
/// reduction never takes a drop and a taking of the same frame for commuting steps and skips one of
/// their orders: the drop may free the frame before the taking, or come after it.</summary>
public class RefDropPointTests
{
    // The pipe's free of pages it alone holds is a drop too, though by contract nothing may race it.
    public static TheoryData<string> Drops => ["put_page", "unpin_user_page", "release_pages", "sole-held free"];

    [Theory]
    [MemberData(nameof(Drops))]
    public void A_drop_and_a_speculative_reference_to_the_same_frame_do_not_commute(string drop)
    {
        using var k = new KernelFixture(KernelConfig.Current, 4L << 20);
        PhysicalMemory mem = k.Memory;
        Page page = mem.Alloc(PageOwner.Anon);
        if (drop == "unpin_user_page") Assert.True(mem.TryPin(page)); // the page keeps its allocation's reference too
        Action dropper = drop switch
        {
            "put_page" => () => mem.Put(page),
            "unpin_user_page" => () => mem.Unpin(page),
            "release_pages" => () => mem.PutPages([page]),
            _ => () => mem.FreeSoleHeld([page]),
        };
        bool got = false;
        var policy = new PendingSteps();
        // The dropper parks at its drop while the taker parks at its taking; then the drop runs first.
        Assert.Equal(RunStatus.Completed, new Controller(policy).Run([dropper, () => got = mem.TryGetUnlessZero(page)]));
        Assert.Equal(drop == "unpin_user_page", got); // only the unpin leaves the allocation's reference
        if (got) { mem.Put(page); mem.Put(page); }

        Step put = Assert.Single(policy.Seen, s => s.Thread == 0 && s.Step.Kind == SchedPoint.PageRef).Step;
        Step take = Assert.Single(policy.Seen, s => s.Thread == 1 && s.Step.Kind == SchedPoint.PageRef).Step;
        Assert.True(put.DependsOn(take), $"{put} and {take} were taken to commute");
        Assert.True(take.DependsOn(put));
    }

    // Runs the lowest runnable thread, as a plain replay would, noting every step it sees pending.
    private sealed class PendingSteps : SchedulePolicy
    {
        public HashSet<(int Thread, Step Step)> Seen { get; } = [];

        protected override ModelThread Choose(IReadOnlyList<ModelThread> enabled, IReadOnlyList<ModelThread> all)
        {
            foreach (ModelThread t in all) Seen.Add((t.Index, t.Pending));
            return enabled[0];
        }
    }
}
