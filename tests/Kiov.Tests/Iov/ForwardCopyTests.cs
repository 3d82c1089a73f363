using Kiov.Uaccess;

namespace Kiov.Tests.Iov;

/// <summary>The kernel's memcpy / copy_user_generic on an FSRM CPU (arch/x86/lib/memcpy_64.S, rep movsb):
/// a forward copy, which an overlapping destination shows.</summary>
public class ForwardCopyTests
{
    private static byte[] Pattern(int n) => [.. Enumerable.Range(0, n).Select(i => (byte)(i * 7 + 3))];

    [Theory]
    [InlineData(1, 100)]
    [InlineData(64, 4096)]
    [InlineData(200, 4096)]
    [InlineData(1000, 3000)]
    [InlineData(4095, 4096)]
    public unsafe void ADestinationInsideTheSourceRereadsTheBytesJustWritten(int distance, int length)
    {
        byte[] buf = Pattern(distance + length);
        byte[] expected = (byte[])buf.Clone();
        for (int i = 0; i < length; i++) expected[distance + i] = expected[i];
        fixed (byte* p = buf) ForwardCopy.Copy(p, p + distance, (ulong)length);
        Assert.Equal(expected, buf);
        // memmove would have copied the old bytes: the two differ whenever the overlap is real
        byte[] moved = Pattern(distance + length);
        Array.Copy(moved, 0, moved, distance, length);
        if (distance < length) Assert.NotEqual(moved, buf);
    }

    [Theory]
    [InlineData(512, 3000)]
    [InlineData(5000, 3000)]
    public unsafe void ADestinationBeforeOrApartFromTheSourceIsAPlainCopy(int sourceOffset, int length)
    {
        byte[] buf = Pattern(sourceOffset + length);
        byte[] expected = (byte[])buf.Clone();
        Array.Copy(expected, sourceOffset, expected, 0, length);
        fixed (byte* p = buf) ForwardCopy.Copy(p + sourceOffset, p, (ulong)length);
        Assert.Equal(expected, buf);
    }
}
