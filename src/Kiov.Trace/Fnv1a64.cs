namespace Kiov.Trace;

/// <summary>
/// FNV-1a 64, the hash of a trace's <c>hash</c> op: start at <see cref="Start"/>; for each byte,
/// <c>h = (h ^ byte) * <see cref="Prime"/></c> modulo 2^64. Incremental: pass the running value to
/// <see cref="Append"/> chunk by chunk.
/// </summary>
internal static class Fnv1a64
{
    /// <summary>The offset basis: the hash of zero bytes.</summary>
    public const ulong Start = 0xcbf29ce484222325;

    /// <summary>The FNV 64-bit prime.</summary>
    public const ulong Prime = 0x100000001b3;

    /// <summary>Continues the hash <paramref name="hash"/> over <paramref name="bytes"/>.</summary>
    /// <param name="hash">The hash of the bytes before (<see cref="Start"/> for none).</param>
    /// <param name="bytes">The next bytes.</param>
    /// <returns>The hash of the bytes before followed by <paramref name="bytes"/>.</returns>
    public static ulong Append(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
            hash = (hash ^ b) * Prime;
        return hash;
    }

    /// <summary>The hash of <paramref name="bytes"/>.</summary>
    /// <param name="bytes">The bytes to hash.</param>
    public static ulong Hash(ReadOnlySpan<byte> bytes) => Append(Start, bytes);

    /// <summary>Formats a hash as a trace prints it: <c>"0x%016x"</c>.</summary>
    /// <param name="hash">The hash.</param>
    public static string Format(ulong hash) => "0x" + hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}
