using System.Diagnostics;

namespace Kiov.Tests.Samples;

/// <summary>samples/ToyGuest, the program that embeds Kiov as a toy guest's I/O layer, run as its
/// own process (as a user would run it) with everything it prints checked.</summary>
public class ToyGuestSampleTests
{
    private const string Expected = """
        mmap guest RAM: 4194304
        the guest's bytes are in the emulator's RAM block: 1
        memfd_create: 0
        writev to the memfd (2 segments): 25
        preadv from the memfd at 0: 25
        the file holds: "hello from the toy guest\n"
        pipe2 (non-blocking): 0
        pipe read end: 1
        pipe write end: 2
        writev to the pipe: 25
        readv from the pipe (5 + 4096): 25
        first segment: "hello"
        second segment: " from the toy guest\n"
        writev from unmapped memory: -14
        readv of the empty pipe: -11
        readv with its iovec array unmapped: -14
        close 0: 0
        close 1: 0
        close 2: 0
        frames leaked after the guest exits: 0
        all 20 results are what Linux gives

        """;

    [Fact]
    public async Task The_toy_guest_runs_its_io_through_Kiov_and_gets_what_Linux_gives()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "ToyGuest.dll");
        Assert.True(File.Exists(dll), $"the sample was not built next to the tests: {dll}");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        using var sample = Process.Start(info)!;
        var stderr = sample.StandardError.ReadToEndAsync();
        string stdout = await sample.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await sample.WaitForExitAsync(timeout.Token);
        Assert.Equal("", await stderr);
        Assert.Equal(Expected.ReplaceLineEndings("\n"), stdout);
        Assert.Equal(0, sample.ExitCode);
    }
}
