using System.Diagnostics;
using Kiov.Trace.Fuzz;

namespace Kiov.Cli;

/// <summary>
/// Replays a trace on the host kernel in a child process, <c>kiov replay --host -</c> with the
/// trace on its standard input: the host back end reserves the fixed arena, so each host replay
/// needs a process of its own. The child is this very program: the running apphost, or
/// <c>dotnet</c> with this assembly when running under <c>dotnet</c> (tests, <c>dotnet kiov.dll</c>).
/// </summary>
public static class HostChild
{
    /// <summary>How long one host replay may take before it is killed.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>Replays <paramref name="trace"/> on the host in a child process.</summary>
    /// <param name="trace">The trace's lines.</param>
    /// <returns>The lines it printed; a <see cref="TraceOutcome.Failure"/> if it exited non-zero
    /// or timed out.</returns>
    public static TraceOutcome Replay(IReadOnlyList<string> trace)
    {
        using var child = new Process { StartInfo = StartInfo("replay", "--host", "-") };
        child.Start();
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        try
        {
            foreach (string line in trace)
            {
                child.StandardInput.Write(line);
                child.StandardInput.Write('\n');
            }
            child.StandardInput.Close();
        }
        catch (IOException)
        {
            // The child exited early; its status and standard error say why.
        }
        if (!child.WaitForExit(Timeout))
        {
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
            return new TraceOutcome(TraceOutcome.SplitLines(stdout.Result), $"host replay timed out after {Timeout.TotalSeconds} s");
        }
        child.WaitForExit();
        var lines = TraceOutcome.SplitLines(stdout.Result);
        if (child.ExitCode == ExitCodes.Ok)
            return new TraceOutcome(lines);
        string why = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        return new TraceOutcome(lines, $"host replay exited {child.ExitCode}: {why}");
    }

    /// <summary>How to start this program with <paramref name="args"/>.</summary>
    /// <param name="args">The command-line arguments.</param>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "Kiov.Cli")
            info.FileName = self;
        else
        {
            info.FileName = self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet"
                ? self
                : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
            info.ArgumentList.Add(typeof(HostChild).Assembly.Location);
        }
        foreach (string arg in args)
            info.ArgumentList.Add(arg);
        return info;
    }
}
