using System.Diagnostics;

namespace Kiov.Cli;

/// <summary>
/// How to start this very program as a child process: the running apphost, or <c>dotnet</c>
/// with this assembly when running under <c>dotnet</c> (tests, <c>dotnet kiov.dll</c>). Host
/// replays no longer need one (each host back end has an executor process of its own,
/// kiov-exec); tests use it to run <c>kiov</c> end to end.
/// </summary>
public static class HostChild
{
    /// <summary>How to start this program with <paramref name="args"/>, its standard streams redirected.</summary>
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
