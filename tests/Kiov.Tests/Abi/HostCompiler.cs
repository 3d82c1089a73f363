using System.Diagnostics;

namespace Kiov.Tests.Abi;

/// <summary>The host's C compiler (<c>cc</c>), for tests that compare Kiov's numbers with the C
/// headers of this machine.</summary>
internal static class HostCompiler
{
    /// <summary>Why a test that needs <c>cc</c> cannot run here, or null when it can.</summary>
    public static readonly string? Missing = FindMissing();

    /// <summary>Compiles <paramref name="source"/> with <c>cc -w</c> in a new temporary folder and runs
    /// it; returns what it printed. Throws with the compiler's message when it does not compile.</summary>
    public static string CompileAndRun(string source)
    {
        string dir = Directory.CreateTempSubdirectory("kiov-abi-").FullName;
        try
        {
            string c = Path.Combine(dir, "abi.c"), exe = Path.Combine(dir, "abi");
            File.WriteAllText(c, source);
            var (ccStatus, ccOut) = Run("cc", ["-w", "-o", exe, c]);
            if (ccStatus != 0) throw new InvalidOperationException($"cc failed:\n{ccOut}");
            var (status, output) = Run(exe, []);
            if (status != 0) throw new InvalidOperationException($"the compiled program exited with {status}:\n{output}");
            return output;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static (int Status, string Output) Run(string file, string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }

    private static string? FindMissing()
    {
        if (!OperatingSystem.IsLinux()) return "not Linux: there are no Linux C headers to compare with";
        try
        {
            return Run("cc", ["--version"]).Status == 0 ? null : "cc --version failed";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "no C compiler (cc) on PATH, so the C headers cannot be read";
        }
    }
}

/// <summary>A fact that needs <c>cc</c> and this machine's C headers, skipped with the reason where
/// there are none.</summary>
public sealed class FactNeedsCcAttribute : FactAttribute
{
    /// <summary>Skips the test where <see cref="HostCompiler.Missing"/> says why it cannot run.</summary>
    public FactNeedsCcAttribute()
    {
        if (HostCompiler.Missing is { } why) Skip = why;
    }
}
