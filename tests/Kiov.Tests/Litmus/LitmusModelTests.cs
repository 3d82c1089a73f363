using Kiov.Trace;

namespace Kiov.Tests.Litmus;

public class LitmusModelTests
{
    internal static string Dir => Path.Combine(AppContext.BaseDirectory, "Litmus");

    internal static List<TraceOp> Load(string name) => TraceReader.Read(File.ReadAllLines(Path.Combine(Dir, name + ".jsonl")));

    [Fact]
    public void PipeAtomicWritesGiveBothOrdersAndNothingElse()
    {
        var r = LitmusModel.Explore(Load("litmus-pipe-atomic"));
        Assert.True(r.Complete);
        Assert.Null(r.Failure);
        Assert.Equal(2, r.Outcomes.Count);
    }
}
