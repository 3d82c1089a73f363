using Kiov.Iov;
using Kiov.Mm;
namespace Kiov.Trace;

/// <summary>
/// The fill pattern of docs/trace-format.md. Byte <c>k</c> (from 0, over the whole fill) of a fill with seed
/// <c>s</c> is, in unsigned 32-bit arithmetic, <c>(a ^ (k * 0x85EBCA77) ^ (k &gt;&gt; 7)) &amp; 0xFF</c>
/// with <c>a = s * 0x9E3779B1</c>.
/// </summary>
internal static class FillPattern
{
    /// <summary>Byte <paramref name="k"/> of the fill with seed <paramref name="seed"/>.</summary>
    /// <param name="seed">The fill's seed.</param>
    /// <param name="k">The byte's index from the start of the whole fill.</param>
    public static byte ByteAt(uint seed, uint k) =>
        (byte)((seed * 0x9E3779B1u) ^ (k * 0x85EBCA77u) ^ (k >> 7));

    /// <summary>Writes bytes <paramref name="offset"/> .. <paramref name="offset"/> +
    /// <c>destination.Length</c> of the fill into <paramref name="destination"/>. Chunked
    /// generation passes each chunk's absolute offset in the fill.</summary>
    /// <param name="seed">The fill's seed.</param>
    /// <param name="offset">The index in the whole fill of <c>destination[0]</c>; a fill is at
    /// most <see cref="IovLimits.MaxRwCount"/> bytes, so it is taken modulo 2^32.</param>
    /// <param name="destination">Where the bytes go.</param>
    public static void Generate(uint seed, ulong offset, Span<byte> destination)
    {
        uint a = seed * 0x9E3779B1u;
        uint k = unchecked((uint)offset);
        for (int i = 0; i < destination.Length; i++, k++)
            destination[i] = (byte)(a ^ (k * 0x85EBCA77u) ^ (k >> 7));
    }
}
