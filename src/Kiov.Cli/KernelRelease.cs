using System.Runtime.InteropServices;

namespace Kiov.Cli;

/// <summary>The running kernel's release string, as <c>uname -r</c> prints it (for instance
/// <c>6.18.44-fc-v782</c>): <see cref="Environment.OSVersion"/> keeps only the numbers.</summary>
public static unsafe partial class KernelRelease
{
    private const int FieldLength = 65; // __NEW_UTS_LEN + 1: struct utsname on Linux

    /// <summary><c>utsname.release</c> from <c>uname(2)</c>.</summary>
    public static string Current { get; } = Read();

    private static string Read()
    {
        byte* buffer = stackalloc byte[FieldLength * 6];
        if (Uname(buffer) != 0)
            return Environment.OSVersion.Version.ToString();
        var release = new ReadOnlySpan<byte>(buffer + 2 * FieldLength, FieldLength); // sysname, nodename, release
        int end = release.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? release : release[..end]);
    }

    [LibraryImport("libc", EntryPoint = "uname", SetLastError = true)]
    private static partial int Uname(byte* buffer);
}
