using System.Globalization;
using System.Text;
using Kiov.Iov;

namespace Kiov.Trace.Fuzz;

/// <summary>Writes trace lines (docs/trace-format.md) from fields, in the forms a person would: addresses as
/// hex strings, small lengths as JSON numbers, the absurd ones as strings (<c>"-1"</c>,
/// <c>"0x8000000000000000"</c>), since numbers above 2^53 must be strings.</summary>
internal static class TraceLineWriter
{
    /// <summary>An address: <c>"0x…"</c>.</summary>
    /// <param name="addr">The address.</param>
    public static string Addr(ulong addr) => string.Create(CultureInfo.InvariantCulture, $"\"0x{addr:x}\"");

    /// <summary>A length or count as its 64 bits: a JSON number below 2^32, <c>"-1"</c> for all
    /// ones, else a hex string.</summary>
    /// <param name="len">The value.</param>
    public static string Len(ulong len) =>
        len < 1UL << 32 ? len.ToString(CultureInfo.InvariantCulture)
        : len == ulong.MaxValue ? "\"-1\""
        : Addr(len);

    /// <summary>A signed 64-bit value (an <c>off_t</c>): a JSON number when small, else a string.</summary>
    /// <param name="value">The value.</param>
    public static string Off(long value) =>
        value is >= -(1L << 31) and < 1L << 32
            ? value.ToString(CultureInfo.InvariantCulture)
            : value < 0 ? $"\"{value.ToString(CultureInfo.InvariantCulture)}\"" : Addr((ulong)value);

    /// <summary>An iovec list <c>[[addr, len], …]</c>.</summary>
    /// <param name="iov">The segments.</param>
    public static string Iov(IEnumerable<IoVec> iov)
    {
        var s = new StringBuilder("[");
        foreach (IoVec v in iov)
        {
            if (s.Length > 1) s.Append(',');
            s.Append('[').Append(Addr(v.Base)).Append(',').Append(Len(v.Len)).Append(']');
        }
        return s.Append(']').ToString();
    }

    /// <summary>A prot string: a subset of <c>"rwx"</c>.</summary>
    /// <param name="prot">PROT_* bits.</param>
    public static string Prot(int prot) =>
        "\"" + ((prot & Abi.Prot.Read) != 0 ? "r" : "") + ((prot & Abi.Prot.Write) != 0 ? "w" : "")
        + ((prot & Abi.Prot.Exec) != 0 ? "x" : "") + "\"";
}
