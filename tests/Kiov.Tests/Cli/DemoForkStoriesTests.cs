using Kiov.Cli.Commands;

namespace Kiov.Tests.Cli;

/// <summary>kiov demo's fork stories: each CVE open on the kernel before its fix and closed after.</summary>
public class DemoForkStoriesTests
{
    [Fact]
    public void TheForkStoriesShowEachLeakBeforeItsFixAndNoneAfter()
    {
        var output = new StringWriter();
        Assert.Equal(0, DemoCommand.Run(output));
        string text = output.ToString();
        Assert.Contains("Linux 5.7     (reuse by map count): the pipe reads 0x5e: EXPOSED", text);
        Assert.Contains("Linux 5.18    (reuse by refcount): the pipe reads 0x11: safe", text);
        Assert.Contains("Linux current (PageAnonExclusive): the pipe reads 0x11: safe", text);
        Assert.Contains("Linux 4.8     (FOLL_WRITE dropped): file byte 0x66: the FILE was written", text);
        Assert.Contains("Linux 4.10    (FOLL_COW): file byte 0x11: the file is untouched", text);
        Assert.Contains("Linux current (exclusive anon only): file byte 0x11: the file is untouched", text);
        Assert.Contains("Linux 5.7    : the pinned page holds 0x11: NO", text);
        Assert.Contains("Linux current: the pinned page holds 0x22: yes", text);
        Assert.Contains("no leak in the fork stories", text);
    }
}
