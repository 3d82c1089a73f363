using System.Diagnostics;

namespace Kiov.Tests.Cli;

/// <summary>
/// Runs the real <c>kiov</c> program (<c>dotnet Kiov.Cli.dll</c>) in a child process, through
/// <c>bash</c> so that a test can give it shell redirections (<c>&lt;&amp;-</c>, <c>&gt; /dev/full</c>, a pipe).
/// </summary>
internal static class KiovProcess
{
    /// <summary>How long a run may take before the test fails (a hang is a failure, not a wait).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    /// <summary>What a run left.</summary>
    public sealed record Result(int Exit, string Stdout, string Stderr)
    {
        /// <summary>Standard error's lines.</summary>
        /// <summary>Standard error's lines, less the one a host run says at start about the host's
        /// settings (<c>kiov: host: …</c>, docs/trace-format.md "Host settings"): that line is information,
        /// not an error.</summary>
        public string[] StderrLines => Stderr.Length == 0 ? [] : [.. Stderr.TrimEnd('\n').Split('\n').Where(l => !l.StartsWith(HostSettingsLine, StringComparison.Ordinal))];

        /// <summary>How the host settings line starts.</summary>
        public const string HostSettingsLine = "kiov: host: ";
    }

    /// <summary>The command line that starts kiov, shell-quoted.</summary>
    public static string Command
    {
        get
        {
            string dll = typeof(Kiov.Cli.Program).Assembly.Location;
            string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
            return $"{Quote(host)} {Quote(dll)}";
        }
    }

    /// <summary>Single-quotes <paramref name="s"/> for bash.</summary>
    public static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>Starts <c>kiov ARGS REDIRECTIONS</c> (the shell words given raw) with every stream redirected.</summary>
    public static Process Start(string argsAndRedirections)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(argsAndRedirections.Contains("KIOV", StringComparison.Ordinal)
            ? argsAndRedirections.Replace("KIOV", Command, StringComparison.Ordinal)
            : $"exec {Command} {argsAndRedirections}");
        return Process.Start(info)!;
    }

    /// <summary>Runs <c>kiov</c> to the end, feeding <paramref name="stdin"/>.</summary>
    /// <param name="argsAndRedirections">The arguments as shell words (quote them with <see cref="Quote"/>),
    /// with any redirections; or a whole script using <c>KIOV</c> for the program.</param>
    /// <param name="stdin">What to write on its standard input before closing it.</param>
    public static Result Run(string argsAndRedirections, string stdin = "")
    {
        using Process p = Start(argsAndRedirections);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        catch (IOException)
        {
            // It stopped reading: what it printed says why.
        }
        if (!p.WaitForExit(Patience))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"kiov {argsAndRedirections} did not end within {Patience}");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Asserts that the run ended with <paramref name="exit"/> and exactly one line on
    /// standard error, starting <c>kiov: </c> and holding <paramref name="says"/>; returns that line.</summary>
    public static string AssertOneLineError(Result r, int exit, string says)
    {
        Assert.True(r.Exit == exit, $"exit {r.Exit}, not {exit}; stderr: {r.Stderr}");
        Assert.Single(r.StderrLines);
        Assert.EndsWith("\n", r.Stderr);
        string line = r.StderrLines[0];
        Assert.StartsWith("kiov: ", line);
        Assert.Contains(says, line);
        Assert.DoesNotContain("   at ", line);
        Assert.True(line.All(c => c >= ' ' && c != '\x7f'), $"a control character in: {line}");
        return line;
    }

    /// <summary>A fresh temporary directory, deleted by disposing the result.</summary>
    public static TempDir TempDir() => new();
}

/// <summary>A temporary directory, deleted with everything in it on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"kiov-cli-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name, string content)
    {
        string path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}
