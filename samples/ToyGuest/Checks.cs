using System.Text;

namespace ToyGuest;

/// <summary>Prints each result of the guest next to what Linux returns, and counts the differences.</summary>
internal sealed class Checks(TextWriter output)
{
    private int _passed, _failed;

    /// <summary>One system call's result.</summary>
    public void Expect(string what, long actual, long expected) =>
        Line(what, actual.ToString(), actual == expected, expected.ToString());

    /// <summary>Guest memory, read back as text.</summary>
    public void ExpectText(string what, GuestMachine machine, ulong addr, int length, string expected)
    {
        var bytes = new byte[length];
        string actual = machine.Load(addr, bytes) ? Encoding.ASCII.GetString(bytes) : "<fault>";
        Line(what, Quote(actual), actual == expected, Quote(expected));
    }

    private static string Quote(string s) => "\"" + s.Replace("\n", "\\n") + "\"";

    private void Line(string what, string actual, bool ok, string expected)
    {
        if (ok) _passed++; else _failed++;
        output.WriteLine(ok ? $"{what}: {actual}" : $"{what}: {actual} (expected {expected})");
    }

    /// <summary>The closing line; the exit status (0 when nothing differed).</summary>
    public int Report()
    {
        output.WriteLine(_failed == 0 ? $"all {_passed} results are what Linux gives" : $"{_failed} of {_passed + _failed} results differ from what Linux gives");
        return _failed == 0 ? 0 : 1;
    }
}
