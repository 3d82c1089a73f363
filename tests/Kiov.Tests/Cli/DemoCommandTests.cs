using System.CommandLine;
using Kiov.Cli.Commands;

namespace Kiov.Tests.Cli;

public class DemoCommandTests
{
    private static (int Status, string Output) RunDemo()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var root = new RootCommand { DemoCommand.Create() };
        int status = root.Parse(["demo"]).Invoke(new InvocationConfiguration { Output = output, Error = error });
        Assert.Equal("", error.ToString());
        return (status, output.ToString());
    }

    [Fact]
    public void DemoTellsTheStoryAndLeaksNothing()
    {
        var (status, text) = RunDemo();
        Assert.Equal(0, status);
        Assert.Contains("mmap(0x100000000000, 3 pages, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED) = 0x100000000000", text);
        Assert.Contains("buf = \"hello from the kernel\"", text);
        Assert.Contains("copy_to_user(0x100000001ff0, 48 bytes) -> 32 not copied: 16 bytes landed, the copy stopped at the hole 0x100000002000", text);
        Assert.Contains("the last 32 bytes of buf were zeroed (yes)", text);
        Assert.Contains("copy_to_user(0x100000000ff8, 16 bytes) -> 8 not copied: the write stopped at the read-only page", text);
        Assert.Matches(@"access_ok\(0xffff888[0-9a-f]+, 13\) = false", text);
        Assert.Matches(@"copy_from_user\(buf, 0xffff888[0-9a-f]+, 13\) -> 13 not copied", text);
        Assert.Matches(@"access_ok\(0xffff888[0-9a-f]+, 13\) = true", text);
        Assert.Matches(@"copy_from_user\(buf, 0xffff888[0-9a-f]+, 13\) -> 0 not copied, buf = ""kernel secret""", text);
        Assert.Contains("after set_fs(old_fs): access_ok = false", text);
        Assert.Contains(", 0 leaked", text);
        Assert.Contains("no leak", text);
        Assert.DoesNotContain("LEAK", text);
        Assert.Contains("now has refcount 1025 (1 for the mapping + 1024 for the pin), maybe-DMA-pinned = true", text);
        Assert.Contains("refcount back to 1, dirty = true", text);
        Assert.Contains("pin_user_pages_fast(0xffff888000000000, 1) = -14", text);
        Assert.Contains("the first byte read is 0x22", text);
        Assert.Matches(@"Linux 4\.10  st\.c with get_user_pages_unlocked +->  13: bounce buffer.*pinned by user GUP: 0", text);
        Assert.Matches(@"Linux 4\.10  st\.c with get_user_pages_fast +->  13: direct I/O on KERNEL pages.*pinned by user GUP: 1", text);
        Assert.Matches(@"Linux 4\.15  st\.c with get_user_pages_fast +->  13: bounce buffer", text);
        Assert.Matches(@"Linux current st\.c with pin_user_pages_fast +-> -22: refused", text);
    }

    [Fact]
    public void DemoOutputIsDeterministic() => Assert.Equal(RunDemo().Output, RunDemo().Output);
}
