using Kiov.Trace;

namespace Kiov.Tests.Trace;

public class PatternAndHashTests
{
    [Fact]
    public void Hash_of_nothing_is_the_offset_basis()
    {
        Assert.Equal(0xcbf29ce484222325UL, Fnv1a64.Hash([]));
        Assert.Equal(Fnv1a64.Start, Fnv1a64.Append(Fnv1a64.Start, []));
    }

    [Fact]
    public void Hash_matches_published_fnv1a64_vectors()
    {
        Assert.Equal(0xaf63dc4c8601ec8cUL, Fnv1a64.Hash("a"u8));
        Assert.Equal(0x85944171f73967e8UL, Fnv1a64.Hash("foobar"u8));
    }

    [Fact]
    public void Hash_is_incremental()
    {
        byte[] data = new byte[10000];
        FillPattern.Generate(9, 0, data);
        ulong h = Fnv1a64.Start;
        for (int i = 0; i < data.Length; i += 333)
            h = Fnv1a64.Append(h, data.AsSpan(i, Math.Min(333, data.Length - i)));
        Assert.Equal(Fnv1a64.Hash(data), h);
    }

    [Fact]
    public void Example_fill_of_16384_bytes_seed_1_hashes_as_the_kernel_printed()
    {
        byte[] data = new byte[16384];
        FillPattern.Generate(1, 0, data);
        Assert.Equal(0x8a669d9af8491d25UL, Fnv1a64.Hash(data));
        Assert.Equal("0x8a669d9af8491d25", Fnv1a64.Format(Fnv1a64.Hash(data)));
    }

    [Fact]
    public void Pattern_bytes_follow_the_formula()
    {
        // a = 1 * 0x9E3779B1; byte 0 = 0xB1; byte 1 = 0xB1 ^ 0x77; byte 128 = (a ^ 128*0x85EBCA77 ^ 1) & 0xFF.
        Assert.Equal(0xB1, FillPattern.ByteAt(1, 0));
        Assert.Equal(0xB1 ^ 0x77, FillPattern.ByteAt(1, 1));
        Assert.Equal(unchecked((byte)(0x9E3779B1u ^ (128u * 0x85EBCA77u) ^ 1u)), FillPattern.ByteAt(1, 128));
        Assert.Equal(unchecked((byte)((7u * 0x9E3779B1u) ^ (1000u * 0x85EBCA77u) ^ (1000u >> 7))), FillPattern.ByteAt(7, 1000));
    }

    [Fact]
    public void Chunked_generation_uses_the_absolute_index()
    {
        byte[] whole = new byte[5000];
        FillPattern.Generate(42, 0, whole);
        byte[] chunked = new byte[5000];
        FillPattern.Generate(42, 0, chunked.AsSpan(0, 1234));
        FillPattern.Generate(42, 1234, chunked.AsSpan(1234));
        Assert.Equal(whole, chunked);
        for (uint k = 0; k < whole.Length; k++)
            Assert.Equal(FillPattern.ByteAt(42, k), whole[k]);
    }

    [Fact]
    public void Result_lines_have_the_exact_format()
    {
        Assert.Equal("{\"ret\":-14}", new TraceResult(-14).ToJson());
        Assert.Equal("{\"ret\":17592186044416}", new TraceResult(0x100000000000).ToJson());
        Assert.Equal("{\"ret\":0,\"fds\":[3,4]}", new TraceResult(0, Fds: (3, 4)).ToJson());
        Assert.Equal("{\"ret\":-24}", new TraceResult(-24, Fds: (-1, -1)).ToJson());
        Assert.Equal("{\"ret\":0,\"hash\":\"0xcbf29ce484222325\"}", new TraceResult(0, Hash: Fnv1a64.Start).ToJson());
        Assert.Equal("{\"ret\":5,\"hash\":\"0x000000000000000a\"}", new TraceResult(5, Hash: 10).ToJson());
        Assert.Equal("{\"ret\":-14}", new TraceResult(-14, Hash: Fnv1a64.Start).ToJson());
    }
}
