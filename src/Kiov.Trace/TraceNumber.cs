using System.Globalization;
using System.Text.Json;

namespace Kiov.Trace;

/// <summary>
/// The integers of docs/trace-format.md: a JSON number or a string (<c>"0x1f"</c>, <c>"123"</c>, <c>"-1"</c>),
/// read as the 64 bits a register would carry. A negative value wraps, as a <c>size_t</c> carries
/// it: <c>"-1"</c> is <c>0xffffffffffffffff</c>. A value must fit in a <c>long</c> or a <c>ulong</c>:
/// [-2^63, 2^64). A JSON number is read from its text, so it is exact even above 2^53; it may have
/// a fraction or exponent only if its value is whole (<c>1e3</c>, <c>4096.0</c>).
/// </summary>
internal static class TraceNumber
{
    /// <summary>Reads <paramref name="element"/> as a trace integer.</summary>
    /// <param name="element">A JSON number or string.</param>
    /// <param name="bits">The value's 64 bits (two's complement for a negative value).</param>
    /// <returns>Whether it is a trace integer.</returns>
    public static bool TryRead(JsonElement element, out ulong bits)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                string raw = element.GetRawText();
                if (raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0)
                    return TryParse(raw, out bits);
                return TryReadWholeNumber(element, out bits);
            case JsonValueKind.String:
                return TryParse(element.GetString()!, out bits);
            default:
                bits = 0;
                return false;
        }
    }

    /// <summary>Parses the string form: an optional <c>-</c>, then decimal digits or <c>0x</c>
    /// and hex digits. Leading zeros are allowed in both (<c>"007"</c>, <c>"0x0000001f"</c>);
    /// the value must fit.</summary>
    /// <param name="text">The string.</param>
    /// <param name="bits">The value's 64 bits.</param>
    /// <returns>Whether <paramref name="text"/> is a trace integer.</returns>
    public static bool TryParse(string text, out ulong bits)
    {
        bits = 0;
        ReadOnlySpan<char> s = text;
        bool negative = s.StartsWith("-");
        if (negative)
            s = s[1..];
        ulong magnitude;
        if (s.StartsWith("0x") || s.StartsWith("0X"))
        {
            s = s[2..];
            if (s.Length == 0 || !s.ContainsOnlyHex())
                return false;
            s = s.TrimStart('0'); // leading zeros are allowed, as in decimal
            if (s.Length > 16)
                return false;
            if (s.Length == 0)
                s = "0";
            magnitude = ulong.Parse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        }
        else if (s.Length == 0 || !s.ContainsOnlyDigits() ||
                 !ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out magnitude))
        {
            return false;
        }
        if (!negative)
        {
            bits = magnitude;
            return true;
        }
        if (magnitude > 1UL << 63)
            return false;
        bits = unchecked(0UL - magnitude);
        return true;
    }

    private static bool TryReadWholeNumber(JsonElement element, out ulong bits)
    {
        bits = 0;
        if (!element.TryGetDecimal(out decimal d) || decimal.Truncate(d) != d)
            return false;
        if (d >= 0 && d <= ulong.MaxValue)
        {
            bits = (ulong)d;
            return true;
        }
        if (d < 0 && d >= long.MinValue)
        {
            bits = unchecked((ulong)(long)d);
            return true;
        }
        return false;
    }
}

internal static class SpanDigits
{
    public static bool ContainsOnlyDigits(this ReadOnlySpan<char> s) => !s.ContainsAnyExceptInRange('0', '9');

    public static bool ContainsOnlyHex(this ReadOnlySpan<char> s)
    {
        foreach (char c in s)
            if (!char.IsAsciiHexDigit(c))
                return false;
        return true;
    }
}
