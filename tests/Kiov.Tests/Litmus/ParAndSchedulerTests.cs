using Kiov.Cli.Commands;
using Kiov.Concurrency;
using Kiov.Trace;

namespace Kiov.Tests.Litmus;

/// <summary>par lines (parsing and their trace errors), the controller (blocking, deadlock, replay) and
/// kiov litmus on the model and the host.</summary>
public class ParAndSchedulerTests
{
    private const string Map = """{"op":"mmap","addr":"0x100000000000","len":16384,"prot":"rw","flags":["private","anonymous","fixed"]}""";

    [Fact]
    public void AParInsideParIsATraceErrorNamingTheLine()
    {
        var e = Assert.Throws<TraceException>(() => TraceReader.Read([Map, """{"op":"par","threads":[[{"op":"par","threads":[[]]}]]}"""]));
        Assert.Equal(2, e.Line);
        Assert.Contains("\"par\" op cannot be inside par", e.Message);
    }

    [Fact]
    public void AnEmptyThreadsListIsATraceErrorNamingTheLine()
    {
        var e = Assert.Throws<TraceException>(() => TraceReader.Read([Map, "", """{"op":"par","threads":[]}"""]));
        Assert.Equal(3, e.Line);
        Assert.Contains("\"threads\" is empty", e.Message);
    }

    [Fact]
    public void PidInsideParAndABadInnerOpAreTraceErrorsOfTheParLine()
    {
        Assert.Contains("cannot carry \"pid\"", Assert.Throws<TraceException>(() => TraceReader.ParseLine("""{"op":"par","threads":[[{"op":"pipe","pid":0}]]}""", 4)).Message);
        var e = Assert.Throws<TraceException>(() => TraceReader.ParseLine("""{"op":"par","threads":[[{"op":"frob"}]]}""", 7));
        Assert.Equal(7, e.Line);
    }

    [Fact]
    public void AnExitInsideParIsATraceErrorNamingTheLineButAForkIsAllowed()
    {
        var e = Assert.Throws<TraceException>(() => TraceReader.Read([Map, """{"op":"par","threads":[[{"op":"exit"}]]}"""]));
        Assert.Equal(2, e.Line);
        Assert.Contains("\"exit\" op cannot be inside par", e.Message);
        Assert.IsType<ParOp>(TraceReader.ParseLine("""{"op":"par","threads":[[{"op":"fork"}],[]]}""", 2));
    }

    // A fork in a par thread forks the process (the child gets the lowest free trace pid) on every
    // schedule, and the child is a process later lines can name.
    [Fact]
    public void AForkInsideParGivesTheChildAPidOnEverySchedule()
    {
        List<TraceOp> ops = TraceReader.Read([Map, """{"op":"fill","addr":"0x100000000000","len":4096,"seed":7}""",
            """{"op":"par","threads":[[{"op":"fork"}],[{"op":"fill","addr":"0x100000001000","len":4096,"seed":8}]]}""",
            """{"op":"hash","addr":"0x100000000000","len":4096,"pid":1}"""]);
        LitmusModelResult r = LitmusModel.Explore(ops);
        Assert.True(r.Complete);
        Assert.Null(r.Failure);
        string outcome = Assert.Single(r.Outcomes).Lines;
        Assert.StartsWith("""{"ret":0,"results":[[{"ret":1}],[{"ret":4096}]]}""", outcome);
    }

    // Each par thread's runner buffer takes pages only as it needs them: twenty threads that fill a
    // page each fit in a litmus machine's memory, where a whole MiB per thread would not.
    [Fact]
    public void ManyThreadsEachFillingAPageFitInALitmusMachine()
    {
        string threads = string.Join(',', Enumerable.Range(0, 20).Select(i => $$"""[{"op":"fill","addr":"0x{{0x100000000000 + i * 4096:x}}","len":4096,"seed":{{i}}}]"""));
        List<TraceOp> ops = TraceReader.Read(["""{"op":"mmap","addr":"0x100000000000","len":131072,"prot":"rw","flags":["private","anonymous","fixed"]}""",
            $$"""{"op":"par","threads":[{{threads}}]}"""]);
        string? outcome = LitmusModel.RunWith(ops, new ReplayPolicy());
        Assert.Equal($$"""{"ret":0,"results":[{{string.Join(',', Enumerable.Repeat("""[{"ret":4096}]""", 20))}}]}""" + "\n", outcome);
    }

    [Fact]
    public void AnEmptyThreadPrintsAnEmptyList()
    {
        List<TraceOp> ops = TraceReader.Read([Map, """{"op":"par","threads":[[],[{"op":"pipe"}]]}"""]);
        using var sys = new ModelSyscalls(null, LitmusModel.LitmusMemoryBytes);
        Assert.Equal("""{"ret":0,"results":[[],[{"ret":0,"fds":[3,4]}]]}""", TraceRunner.RunToString(ops, sys).Split('\n')[1]);
    }

    // Two threads, each waiting for a pulse only the other would give after its own wait: a deadlock on
    // every schedule, which the controller must see and unwind (no thread left parked).
    [Fact]
    public void ThreadsThatWaitForEachOtherDeadlockOnEverySchedule()
    {
        var explorer = new Explorer();
        int runs = 0;
        while (explorer.NextRun() is { } policy)
        {
            object a = new(), b = new();
            bool aSet = false, bSet = false;
            var controller = new Controller(policy);
            RunStatus status = controller.Run(
            [
                () => { Sched.Lock(a); lock (a) { while (!bSet) Sched.Wait(a); } aSet = true; },
                () => { Sched.Lock(a); lock (a) { while (!aSet) Sched.Wait(a); } bSet = true; },
            ]);
            Assert.Equal(RunStatus.Deadlock, status);
            Assert.All(controller.Threads, t => Assert.True(t.Done));
            runs++;
        }
        Assert.True(runs >= 2);
    }

    // A lock held across a point: the other thread is not runnable until it is released, and a wait
    // releases it; every schedule ends with both threads done and the counter at 2.
    [Fact]
    public void ALockHeldAcrossPointsAndAWaitAreScheduledCooperatively()
    {
        var explorer = new Explorer();
        var seen = new HashSet<string>();
        while (explorer.NextRun() is { } policy)
        {
            object m = new();
            int count = 0, ready = 0;
            string order = "";
            RunStatus status = new Controller(policy).Run(
            [
                () => { Sched.Lock(m); lock (m) { Sched.Point(SchedPoint.Fault, m); count++; order += "a"; ready = 1; Sched.PulseAll(m); } },
                () => { Sched.Lock(m); lock (m) { while (ready == 0) Sched.Wait(m); count++; order += "b"; } },
            ]);
            Assert.Equal(RunStatus.Completed, status);
            Assert.Equal(2, count);
            seen.Add(order);
        }
        Assert.Equal(["ab"], seen);
    }

    [Fact]
    public void SchedulesPrintAndParseBack()
    {
        int[] choices = [0, 0, 0, 1, 0, 1, 1];
        Assert.Equal("0*3.1.0.1*2", Schedule.Format(choices));
        Assert.Equal(choices, Schedule.Parse("0*3.1.0.1*2"));
        Assert.Throws<FormatException>(() => Schedule.Parse("0*x"));
    }

    [Fact]
    public void ARandomScheduleRepeatsFromItsSeed()
    {
        List<TraceOp> ops = LitmusModelTests.Load("sb-fill-hash");
        var first = new RandomPolicy(42);
        string? a = LitmusModel.RunWith(ops, first);
        var again = new RandomPolicy(42);
        Assert.Equal(a, LitmusModel.RunWith(ops, again));
        Assert.Equal(first.Choices, again.Choices);
    }

    [Fact]
    public void LitmusOnATraceWithoutParIsBadInputInOneLine()
    {
        string file = Path.Combine(Path.GetTempPath(), $"kiov-nopar-{Environment.ProcessId}.jsonl");
        File.WriteAllText(file, Map + "\n");
        try
        {
            var err = new StringWriter();
            int rc = Kiov.Cli.ExitCodes.Guard(err, () => LitmusCommand.Run(LitmusTrace.Load(file, () => Stream.Null), 0, 100, TextWriter.Null));
            Assert.Equal(Kiov.Cli.ExitCodes.BadInput, rc);
            Assert.Single(err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("no par line", err.ToString());
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void LitmusOnTheModelListsEachOutcomeWithASchedule()
    {
        var out_ = new StringWriter();
        int rc = LitmusCommand.Run(LitmusTrace.Load(Path.Combine(LitmusModelTests.Dir, "pipe-reader-between-two-writes.jsonl"), () => Stream.Null), 0, 1000, out_);
        Assert.Equal(0, rc);
        Assert.Contains("the model allows 3 outcome(s), every schedule searched", out_.ToString());
        Assert.Equal(3, out_.ToString().Split('\n').Count(l => l.Contains(", schedule ", StringComparison.Ordinal)));
    }
}

/// <summary>kiov litmus --host: the host side runs in a child process; every outcome it shows is one the model allows.</summary>
[Collection(Kiov.Tests.Trace.HostCollection.Name)]
public class LitmusHostTests
{
    [Fact]
    public void PipeAtomicWritesOnTheHostAreAllowedByTheModel()
    {
        var out_ = new StringWriter();
        int rc = LitmusCommand.Run(LitmusTrace.Load(Path.Combine(LitmusModelTests.Dir, "litmus-pipe-atomic.jsonl"), () => Stream.Null), 20, 1000, out_);
        Assert.True(rc == 0, out_.ToString());
        Assert.Contains("over 20 run(s)", out_.ToString());
        Assert.Contains("ok: every host outcome is allowed by the model", out_.ToString());
    }
}
