using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Uaccess;

namespace Kiov.Bench;

/// <summary>
/// <c>copy_to_user</c> and <c>copy_from_user</c> of 4 KiB, 64 KiB and 64 MiB into mapped, populated
/// private anonymous memory, against a plain <see cref="Span{T}"/> copy of the same size between two
/// native buffers (the memcpy the model's page-run copies are made of).
/// </summary>
[MemoryDiagnoser]
public unsafe class UaccessBench
{
    private const ulong User = 0x1000_0000_0000;
    private PhysicalMemory _memory = null!;
    private AddressSpace _mm = null!;
    private byte* _kernelBuffer, _plainTarget;

    /// <summary>Bytes per copy.</summary>
    [Params(4 << 10, 64 << 10, 64 << 20)]
    public int Size { get; set; }

    /// <summary>Maps and populates the user range, and allocates the kernel-side buffers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _memory = new PhysicalMemory(256L << 20) { PagePoisoning = false };
        _mm = new AddressSpace(new KernelSpace(_memory));
        long r = _mm.Mmap(User, (ulong)Size, Prot.Read | Prot.Write,
            MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate);
        if (r != (long)User) throw new InvalidOperationException($"mmap: {r}");
        _kernelBuffer = (byte*)NativeMemory.AlignedAlloc((nuint)Size, 4096);
        _plainTarget = (byte*)NativeMemory.AlignedAlloc((nuint)Size, 4096);
        new Span<byte>(_kernelBuffer, Size).Fill(0x5a);
        new Span<byte>(_plainTarget, Size).Clear();
    }

    /// <summary>Frees everything.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _mm.Dispose();
        _memory.Dispose();
        NativeMemory.AlignedFree(_kernelBuffer);
        NativeMemory.AlignedFree(_plainTarget);
    }

    /// <summary>The baseline: a span copy of the same size.</summary>
    [Benchmark(Baseline = true)]
    public void SpanCopy() => new ReadOnlySpan<byte>(_kernelBuffer, Size).CopyTo(new Span<byte>(_plainTarget, Size));

    /// <summary><c>copy_to_user</c> of the whole range.</summary>
    [Benchmark]
    public ulong CopyToUser() => UserAccess.CopyToUser(_mm, User, _kernelBuffer, (ulong)Size);

    /// <summary><c>copy_from_user</c> of the whole range.</summary>
    [Benchmark]
    public ulong CopyFromUser() => UserAccess.CopyFromUser(_mm, _plainTarget, User, (ulong)Size);
}
