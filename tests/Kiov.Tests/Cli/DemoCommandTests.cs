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
        Assert.Matches(@"Linux 4\.10 x86-64 +get_user_pages_unlocked \(as shipped\) +-> +13: bounce buffer", text);
        Assert.Matches(@"Linux 4\.10 x86-64 +get_user_pages_fast \(a fast-GUP st\) +-> +13: bounce buffer", text);
        Assert.Matches(@"Linux 4\.10 arm64 +get_user_pages_fast \(a fast-GUP st\), user memory at the alias +-> +13: direct I/O on the USER page .* recorded ""user's bytes!""", text);
        Assert.Matches(@"Linux 4\.10 arm LPAE get_user_pages_fast \(a fast-GUP st\) +-> +13: direct I/O on the KERNEL page", text);
        Assert.Matches(@"Linux 4\.15 x86-64 +get_user_pages_fast \(a fast-GUP st\) +-> +13: bounce buffer", text);
        Assert.Matches(@"Linux 6\.18 x86-64 +pin_user_pages_fast \(as shipped\) +-> -22: refused", text);
        Assert.Contains("a credentials record, uid 1000", text);
        Assert.Matches(@"page \d+ is FREE, the record still in use", text);
        Assert.Contains("and the record's uid is now 0", text);
        Assert.Contains("now reads \"from the tape\", the kernel buffer is still all zero", text);
        Assert.Matches(@"2017 iov_iter_get_pages_alloc \(\+ advance\) +256 +1 +256 +256 +2048  yes", text);
        Assert.Matches(@"Jeff Layton's v3 as posted \(\+ advance\) +1 +256 +1 +1 +2048  yes; NOT on a misaligned iovec", text);
        Assert.Matches(@"v3 with its two bugs fixed \(\+ advance\) +1 +256 +1 +1 +2048  yes\r?\n", text);
        Assert.Matches(@"Al's primitive standing alone, 5\.6\+ pins +1 +256 +1 +1 +2048  yes", text);
    }

    [Fact]
    public void DemoOutputIsDeterministic() => Assert.Equal(RunDemo().Output, RunDemo().Output);
}
