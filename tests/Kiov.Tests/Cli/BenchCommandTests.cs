using Kiov.Cli.Commands;
using Kiov.Tests.Trace;

namespace Kiov.Tests.Cli;

[Collection(HostCollection.Name)]
public class BenchCommandTests
{
    [Fact]
    public void QuickBenchRunsEveryWorkloadOnBothBackEnds()
    {
        var output = new StringWriter();
        Assert.Equal(0, BenchCommand.Run(output, quick: true));
        string text = output.ToString();
        foreach (var name in new[] { "pipe: writev 64 KiB + readv 64 KiB", "pipe: vmsplice 64 KiB + read", "memfd: pwritev 1 MiB + preadv 1 MiB", "process_vm_readv 4 MiB (self)" })
            Assert.Matches(name.Replace("+", "\\+").Replace("(", "\\(").Replace(")", "\\)") + @" +[0-9.]+ GB/s +[0-9.]+ GB/s +[0-9.]+x", text);
        Assert.Matches(@"pin_user_pages_fast \+ unpin, 16 page\(s\)/call +[0-9.]+ ns/page", text);
    }
}
