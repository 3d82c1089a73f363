using System.Numerics;

namespace Kiov.Concurrency;

/// <summary>
/// Exhaustive exploration of a test's schedules: a depth-first search over the choice at each step,
/// one run per leaf, each run replaying the choices above it (the model is deterministic given its
/// schedule). Sleep sets skip the orders of steps that commute (<see cref="Step.DependsOn"/>): after
/// the subtree where thread A moved first has been searched, A sleeps in its siblings until a step
/// that does not commute with A's runs, so A-then-B and B-then-A of independent steps are searched
/// once. Call <see cref="NextRun"/> for each run's policy until it returns null.
/// </summary>
internal sealed class Explorer
{
    private sealed class Node
    {
        public ulong Enabled, Sleep, Done;
        public int Chosen;
        public bool Redundant;
        public Step[] Pending = [];
    }

    private readonly List<Node> _stack = [];
    private bool _started;

    /// <summary>Runs searched so far.</summary>
    public int Runs { get; private set; }

    /// <summary>True once every schedule (up to the reduction) has been searched.</summary>
    public bool Finished { get; private set; }

    /// <summary>The policy for the next run, or null when the search is over. Each run must be
    /// driven to its end before the next is asked for.</summary>
    public SchedulePolicy? NextRun()
    {
        if (_started) Backtrack();
        _started = true;
        if (Finished) return null;
        Runs++;
        return new DfsRun(this);
    }

    private void Backtrack()
    {
        while (_stack.Count > 0)
        {
            Node node = _stack[^1];
            node.Done |= 1UL << node.Chosen;
            ulong candidates = node.Enabled & ~node.Sleep & ~node.Done;
            if (candidates != 0)
            {
                node.Chosen = BitOperations.TrailingZeroCount(candidates);
                return;
            }
            _stack.RemoveAt(_stack.Count - 1);
        }
        Finished = true;
    }

    private ModelThread Choose(int depth, IReadOnlyList<ModelThread> enabled, IReadOnlyList<ModelThread> all)
    {
        if (depth < _stack.Count)
        {
            int want = _stack[depth].Chosen;
            foreach (ModelThread t in enabled) if (t.Index == want) return t;
            throw new ScheduleMismatchException($"step {depth + 1}: thread {want} cannot run on a replay: the model did not repeat itself");
        }
        if (all.Count > 64) throw new InvalidOperationException("the explorer handles at most 64 threads");
        var node = new Node { Pending = [.. all.Select(t => t.Pending)] };
        foreach (ModelThread t in enabled) node.Enabled |= 1UL << t.Index;
        if (depth > 0) node.Sleep = ChildSleep(_stack[depth - 1], all.Count == _stack[depth - 1].Pending.Length);
        ulong candidates = node.Enabled & ~node.Sleep;
        if (candidates == 0 || (depth > 0 && _stack[depth - 1].Redundant))
        {
            // Every runnable thread sleeps: this run only repeats orders searched elsewhere. Finish it
            // with the lowest thread, and search nothing below.
            node.Sleep = node.Enabled;
            node.Redundant = true;
            candidates = node.Enabled;
        }
        node.Chosen = BitOperations.TrailingZeroCount(candidates);
        _stack.Add(node);
        return enabled.First(t => t.Index == node.Chosen);
    }

    // The threads still asleep after the parent's chosen step: those asleep or searched there whose
    // next step commutes with it. A new par line (a different thread list) wakes everyone.
    private static ulong ChildSleep(Node parent, bool sameThreads)
    {
        if (!sameThreads) return 0;
        ulong sleep = 0;
        ulong asleep = (parent.Sleep | parent.Done) & ~(1UL << parent.Chosen);
        Step chosen = parent.Pending[parent.Chosen];
        for (ulong m = asleep; m != 0; m &= m - 1)
        {
            int u = BitOperations.TrailingZeroCount(m);
            if (!parent.Pending[u].DependsOn(chosen)) sleep |= 1UL << u;
        }
        return sleep;
    }

    private sealed class DfsRun(Explorer owner) : SchedulePolicy
    {
        protected override ModelThread Choose(IReadOnlyList<ModelThread> enabled, IReadOnlyList<ModelThread> all) =>
            owner.Choose(Choices.Count, enabled, all);
    }
}
