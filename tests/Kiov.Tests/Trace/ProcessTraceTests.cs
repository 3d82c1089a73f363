using Kiov.Trace;

namespace Kiov.Tests.Trace;

/// <summary>docs/trace-format.md version 2, "Processes", on the model: fork, exit, pid, target and mem_*, and
/// the bad input that is a trace error or ESRCH.</summary>
public class ProcessTraceTests
{
    private const string Map = """{"op":"mmap","addr":"0x100000000000","len":"0x2000","prot":"rw","flags":["private","fixed","anonymous"]}""";

    private static string[] Run(params string[] lines)
    {
        using var model = new ModelSyscalls();
        return TraceRunner.RunToString(TraceReader.Read(lines), model).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static TraceException Error(params string[] lines)
    {
        using var model = new ModelSyscalls();
        return Assert.Throws<TraceException>(() => TraceRunner.RunToString(TraceReader.Read(lines), model));
    }

    [Fact]
    public void ForkGivesTheLowestFreePidAndAnExitedNumberIsGivenOutAgain()
    {
        string[] r = Run(Map, """{"op":"fork"}""", """{"op":"fork","pid":1}""", """{"op":"exit","pid":1}""",
            """{"op":"fork","pid":2}""", """{"op":"fork"}""");
        Assert.Equal(["""{"ret":1}""", """{"ret":2}""", """{"ret":0}""", """{"ret":1}""", """{"ret":3}"""], r[1..]);
    }

    [Fact]
    public void TheChildHasACopyOfPrivateMemoryAndTheSameFds()
    {
        string[] r = Run(Map,
            """{"op":"fill","addr":"0x100000000000","len":"0x1000","seed":7}""",
            """{"op":"pipe"}""",
            """{"op":"fork"}""",
            """{"op":"fill","addr":"0x100000000000","len":"0x1000","seed":8}""",
            """{"op":"write","pid":1,"fd":4,"addr":"0x100000000000","len":"0x1000"}""",
            """{"op":"read","fd":3,"addr":"0x100000001000","len":"0x1000"}""",
            """{"op":"hash","addr":"0x100000001000","len":"0x1000"}""",
            """{"op":"hash","pid":1,"addr":"0x100000000000","len":"0x1000"}""");
        Assert.Equal("""{"ret":4096}""", r[5]);
        Assert.Equal(r[7], r[8]);                       // the parent read what the child wrote: its own copy
    }

    [Fact]
    public void AnExitedTargetIsESRCHForProcessVmAndMem()
    {
        string[] r = Run(Map, """{"op":"fork"}""", """{"op":"exit","pid":1}""",
            """{"op":"process_vm_readv","local":[["0x100000000000","0x10"]],"remote":[["0x100000000000","0x10"]],"target":1}""",
            """{"op":"process_vm_readv","local":[["0x100000000000","0x10"]],"remote":[],"target":1}""",
            """{"op":"mem_read","addr":"0x100000000000","len":"0x10","target":1}""",
            """{"op":"mem_write","addr":"0x100000000000","len":"0x10","seed":1,"target":1}""");
        Assert.Equal(["""{"ret":-3}""", """{"ret":0}""", """{"ret":-3}""", """{"ret":-3}"""], r[3..]);
    }

    [Fact]
    public void MemOpsFollowPreadsRules()
    {
        string[] r = Run(Map,
            """{"op":"mem_read","addr":"0x8000000000000000","len":"0x10"}""",
            """{"op":"mem_read","addr":"0x100000000000","len":"0x7ffffffff000"}""",
            """{"op":"mem_write","addr":"0x100000000000","len":"0x3000","seed":3}""",
            """{"op":"mem_read","addr":"0x100000040000","len":"0x10"}""",
            """{"op":"mem_read","addr":"0x100000000000","len":"0"}""");
        // The arena is PROT_NONE past the mapping, and forced access reaches it.
        Assert.Equal(["""{"ret":-22}""", """{"ret":-14}""", """{"ret":12288}"""], r[1..4]);
        Assert.Equal("""{"ret":0,"hash":"0xcbf29ce484222325"}""", r[5]);
        Assert.StartsWith("""{"ret":16,""", r[4]);
    }

    [Theory]
    [InlineData("""{"op":"hash","pid":1,"addr":"0x100000000000","len":"0x10"}""", "pid 1 names no live process")]
    [InlineData("""{"op":"exit"}""", "exit needs a pid other than 0")]
    [InlineData("""{"op":"exit","pid":0}""", "exit needs a pid other than 0")]
    [InlineData("""{"op":"mem_read","addr":"0x100000000000","len":"0x10","target":5}""", "target 5 was never given out")]
    [InlineData("""{"op":"mem_read","addr":"0x100000000000","len":"0x200000000"}""", "lies between 2^32 and 0x7ffffffff000")]
    [InlineData("""{"op":"fork","pid":-1}""", "pid must be a trace pid")]
    public void BadProcessInputIsATraceError(string line, string problem)
    {
        TraceException e = Error(Map, line);
        Assert.Equal(2, e.Line);
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void ExitTwiceIsATraceError()
    {
        TraceException e = Error(Map, """{"op":"fork"}""", """{"op":"exit","pid":1}""", """{"op":"exit","pid":1}""");
        Assert.Equal(4, e.Line);
        Assert.Contains("pid 1 names no live process", e.Problem);
    }

    [Fact]
    public void ChildrenStillLiveAtTheEndAreEndedWithoutALeak()
    {
        string[] r = Run(Map, """{"op":"fill","addr":"0x100000000000","len":"0x2000","seed":1}""", """{"op":"pipe"}""",
            """{"op":"fork"}""", """{"op":"vmsplice","pid":1,"fd":4,"iov":[["0x100000000000","0x2000"]]}""", """{"op":"fork","pid":1}""");
        Assert.Equal("""{"ret":8192}""", r[4]);
    }
}

/// <summary>kiov fuzz's traces with processes: fork, exit, pid, target and mem_* appear, every line is
/// valid, and the model runs them to the end (no pid that is not live, no target never given out).</summary>
public class ProcessFuzzTests
{
    [Fact]
    public void GeneratedTracesForkExitAndNameOtherProcessesAndRunToTheEnd()
    {
        var seen = new HashSet<string>();
        for (ulong seed = 1; seed <= 6; seed++)
        {
            List<string> lines = Kiov.Trace.Fuzz.TraceGenerator.Generate(seed, 400, processes: true);
            foreach (string op in new[] { "\"op\":\"fork\"", "\"op\":\"exit\"", "\"op\":\"mem_read\"", "\"op\":\"mem_write\"", "\"target\":", "{\"pid\":" })
                if (lines.Any(l => l.Contains(op))) seen.Add(op);
            var outcome = Kiov.Trace.Fuzz.TraceOutcome.InProcess(lines, () => new ModelSyscalls());
            Assert.True(outcome.Failure == null, $"seed {seed}: {outcome.Failure}");
            Assert.Equal(400, outcome.Lines.Count);
        }
        Assert.Equal(6, seen.Count);
    }

    [Fact]
    public void WithoutProcessesTheGeneratorIsUnchanged()
    {
        List<string> lines = Kiov.Trace.Fuzz.TraceGenerator.Generate(7, 500);
        Assert.DoesNotContain(lines, l => l.Contains("\"pid\"") || l.Contains("\"op\":\"fork\"") || l.Contains("\"op\":\"exit\"") || l.Contains("\"op\":\"mem_"));
    }
}
