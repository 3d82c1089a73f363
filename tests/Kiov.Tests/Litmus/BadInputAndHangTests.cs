using Kiov.Cli;
using Kiov.Cli.Commands;
using Kiov.Trace;

namespace Kiov.Tests.Litmus;

/// <summary>Issue 12's bad input: a thread list that deadlocks on every schedule is a one-line trace
/// error naming the par line, and a host par line that hangs is stopped after ParOp.HostTimeout (10 s)
/// and reported, its executor ended, never left running.</summary>
[Collection(Kiov.Tests.Trace.HostCollection.Name)]
public class BadInputAndHangTests
{
    private const string Map = """{"op":"mmap","addr":"0x100000000000","len":16384,"prot":"rw","flags":["private","anonymous","fixed"]}""";

    // Each thread first reads a blocking pipe that only the other thread writes, after its own read.
    private static readonly string[] CrossedReads =
    [
        Map,
        """{"op":"pipe"}""",
        """{"op":"pipe"}""",
        """{"op":"fcntl","fd":3,"cmd":"setfl","arg":[]}""",
        """{"op":"fcntl","fd":5,"cmd":"setfl","arg":[]}""",
        """{"op":"par","threads":[[{"op":"read","fd":3,"addr":"0x100000000000","len":1},{"op":"write","fd":6,"addr":"0x100000000000","len":1}],[{"op":"read","fd":5,"addr":"0x100000001000","len":1},{"op":"write","fd":4,"addr":"0x100000001000","len":1}]]}""",
    ];

    [Fact]
    public void AThreadListThatDeadlocksOnEveryScheduleIsATraceErrorNamingTheParLine()
    {
        string file = Path.Combine(Path.GetTempPath(), $"kiov-deadlock-{Environment.ProcessId}.jsonl");
        File.WriteAllLines(file, CrossedReads);
        try
        {
            var err = new StringWriter();
            int rc = ExitCodes.Guard(err, () => LitmusCommand.Run(LitmusTrace.Load(file, () => Stream.Null), 0, 1000, TextWriter.Null));
            Assert.Equal(ExitCodes.BadInput, rc);
            string line = Assert.Single(err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains($"{file}:6:", line);
            Assert.Contains("cannot all finish on any schedule", line);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void ARecordedHistogramThatIsNotOneIsBadInputInOneLine()
    {
        string histogram = Path.Combine(Path.GetTempPath(), $"kiov-not-a-histogram-{Environment.ProcessId}.jsonl");
        File.WriteAllText(histogram, "{\"count\":3,\"outcome\":[]}\n{\"counted\":1}\n");
        try
        {
            var err = new StringWriter();
            string test = Path.Combine(LitmusModelTests.Dir, "litmus-pipe-atomic.jsonl");
            int rc = ExitCodes.Guard(err, () => LitmusCommand.Run(LitmusTrace.Load(test, () => Stream.Null), 0, 1000, TextWriter.Null, recorded: histogram));
            Assert.Equal(ExitCodes.BadInput, rc);
            string line = Assert.Single(err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains($"{histogram}:2: not a histogram line", line);
        }
        finally { File.Delete(histogram); }
    }

    /// <summary>A declared host-only class (torn pages) accepts a host outcome that differs from a model
    /// outcome in its hashes alone; if most runs do, the model's bytes are the likelier culprit, and the
    /// verdict fails instead of accepting them all.</summary>
    [Theory]
    [InlineData(0, ExitCodes.Ok)]        // as recorded: 13 torn-page runs of 10,000
    [InlineData(9427, ExitCodes.Differ)] // the commonest model outcome's hash changed
    public void HashOnlyDifferencesBeyondARareRaceFailTheVerdict(int changedCount, int expected)
    {
        string test = Path.Combine(LitmusModelTests.Dir, "hash-during-fill.jsonl");
        string recorded = Path.Combine(LitmusModelTests.Dir, "hash-during-fill.host-histogram.jsonl");
        string[] lines = File.ReadAllLines(recorded);
        if (changedCount > 0) ChangeHash(lines, changedCount);
        string histogram = Path.Combine(Path.GetTempPath(), $"kiov-hash-only-{changedCount}-{Environment.ProcessId}.jsonl");
        File.WriteAllLines(histogram, lines);
        try
        {
            var output = new StringWriter();
            int rc = ExitCodes.Guard(TextWriter.Null, () => LitmusCommand.Run(LitmusTrace.Load(test, () => Stream.Null), 0, 20_000, output, recorded: histogram));
            Assert.True(rc == expected, output.ToString());
            Assert.Contains(expected == ExitCodes.Ok ? "host-only (torn-page, declared by the test): 13 outcome(s), 13 run(s)"
                                                     : "differ from the model's outcomes in their hashes alone", output.ToString());
        }
        finally { File.Delete(histogram); }
    }

    private static void ChangeHash(string[] lines, int changedCount)
    {
        int at = Array.FindIndex(lines, l => l.StartsWith($"{{\"count\":{changedCount},", StringComparison.Ordinal));
        Assert.True(at >= 0, $"the recorded histogram has an outcome seen {changedCount} time(s)");
        int hash = lines[at].IndexOf("\"hash\":\"0x", StringComparison.Ordinal) + "\"hash\":\"0x".Length;
        lines[at] = lines[at][..hash] + "0123456789abcdef" + lines[at][(hash + 16)..]; // bytes no schedule of the model gives
    }

    // One thread reads a blocking pipe nothing writes: on the host the line cannot end. The par line
    // gives up after its timeout with a trace error naming it, and its executor is killed, so that the
    // thread stuck in read() ends with it.
    [Fact]
    public void AHostParLineThatHangsIsStoppedAndReportedAndItsExecutorEnded()
    {
        List<TraceOp> ops = TraceReader.Read([Map, """{"op":"pipe"}""", """{"op":"fcntl","fd":3,"cmd":"setfl","arg":[]}""",
            """{"op":"par","threads":[[{"op":"read","fd":3,"addr":"0x100000000000","len":1}],[]]}"""]);
        var executor = new ExecutorHostKernel();
        int pid = executor.Pid;
        try
        {
            using var sys = new HostSyscalls(executor, ownsKernel: false);
            for (int i = 0; i < 3; i++) ops[i].Run(sys);
            var e = Assert.Throws<TraceException>(() => ops[3].Run(sys));
            Assert.Equal(4, e.Line);
            Assert.Contains($"did not finish within {ParOp.HostTimeout.TotalSeconds} s on the host", e.Message);
            Assert.True(executor.Lost);
        }
        finally { executor.Dispose(); }
        Assert.False(Directory.Exists($"/proc/{pid}"), $"kiov-exec (pid {pid}) is still there after the hang");
    }
}
