using Kiov.Drivers;
using Kiov.Fs;
using Kiov.Memory;
using Kiov.Tests.Fs;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Drivers;

public sealed class ScsiTapeTests : IDisposable
{
    private readonly string _medium = Path.Combine(Path.GetTempPath(), $"kiov-tape-{Guid.NewGuid():N}.bin");

    public void Dispose() => File.Delete(_medium);

    private (ScsiTape tape, int fd) Attach(FsFixture k, TapeGup gup)
    {
        var tape = new ScsiTape(k.Kernel, _medium, gup);
        int fd = k.P.Files.Install(tape.Open(FMode.Read | FMode.Write));
        return (tape, fd);
    }

    [Theory]
    [InlineData(TapeGup.Unlocked)]
    [InlineData(TapeGup.Fast)]
    [InlineData(TapeGup.PinFast)]
    public void AlignedUserBufferGoesByDirectIoAndComesBack(TapeGup gup)
    {
        using var k = new FsFixture();
        var (tape, fd) = Attach(k, gup);
        using var _ = tape;
        k.Map(A, 3 * 4096);
        byte[] data = Enumerable.Range(0, 6000).Select(i => (byte)(i * 7)).ToArray();
        k.Poke(A + 100, data);
        Assert.Equal(6000L, Syscalls.Write(k.P, fd, A + 100, 6000));
        Assert.Equal(1, tape.DirectTransfers);
        Assert.Equal(data, File.ReadAllBytes(_medium));
        tape.Rewind();
        Assert.Equal(6000L, Syscalls.Read(k.P, fd, A + 4096 + 8, 6000));
        Assert.Equal(data, k.Peek(A + 4096 + 8, 6000));
        Assert.Equal(2, tape.DirectTransfers);
        Assert.Equal(k.Kernel.Space.Counters.PinsAcquired, k.Kernel.Space.Counters.PinsReleased);
        Assert.Equal(0, k.Kernel.Space.Counters.KernelPagesPinnedByUserGup);
        Syscalls.Close(k.P, fd);
    }

    [Fact]
    public void UnalignedOrUnpinnableBuffersFallBackToTheBounceBuffer()
    {
        using var k = new FsFixture();
        var (tape, fd) = Attach(k, TapeGup.PinFast);
        using var _ = tape;
        k.Map(A, 4096);
        Assert.Equal(10L, Syscalls.Write(k.P, fd, A + 1, 10));          // not DMA-aligned
        Assert.Equal(1, tape.BounceTransfers);
        Assert.Equal(-Errno.EFAULT, Syscalls.Write(k.P, fd, A, 8192));  // GUP short at the hole: bounce, whose copy faults
        Assert.Equal(0, tape.DirectTransfers);
        Syscalls.Close(k.P, fd);
    }

    private static long KernelWriteToTape(FsFixture k, ScsiTape tape, out Page buffer)
    {
        buffer = k.Kernel.Memory.Alloc(PageOwner.KernelBuffer);
        "kernel secret"u8.CopyTo(k.Kernel.Memory.Span(buffer));
        var file = tape.Open(FMode.Write);
        long pos = 0;
        long r = KernelRw.KernelWrite(k.P, file, PhysicalMemory.KernelAddress(buffer), 13, ref pos);
        file.Put();
        return r;
    }

    [Fact]
    public void CurrentKernelRefusesKernelWriteToTheTape()
    {
        using var k = new FsFixture();
        using var tape = new ScsiTape(k.Kernel, _medium, TapeGup.PinFast);
        Assert.Equal(-Errno.EINVAL, KernelWriteToTape(k, tape, out Page buffer));
        Assert.Equal(0L, tape.MediumLength);
        k.Kernel.Memory.Put(buffer);
    }

    [Fact]
    public void SeedKernelWithSlowGupFallsBackSafely()
    {
        using var k = new FsFixture(KernelConfig.Linux2017);
        using var tape = new ScsiTape(k.Kernel, _medium, TapeGup.Unlocked);
        Assert.Equal(13L, KernelWriteToTape(k, tape, out Page buffer));
        Assert.Equal(1, tape.BounceTransfers);                       // no VMA covers a kernel address: GUP refused it
        Assert.Equal(0, k.Kernel.Space.Counters.KernelPagesPinnedByUserGup);
        Assert.Equal("kernel secret"u8.ToArray(), File.ReadAllBytes(_medium));
        k.Kernel.Memory.Put(buffer);
    }

    [Fact]
    public void SeedKernelWithFastGupPinsKernelPages()
    {
        using var k = new FsFixture(KernelConfig.Linux2017);
        using var tape = new ScsiTape(k.Kernel, _medium, TapeGup.Fast);
        Assert.Equal(13L, KernelWriteToTape(k, tape, out Page buffer));
        Assert.Equal(1, tape.DirectTransfers);                       // Al Viro's "trouble": the fast walk took the kernel page
        Assert.Equal(1, k.Kernel.Space.Counters.KernelPagesPinnedByUserGup);
        Assert.Equal(1, k.Kernel.Memory.RefCount(buffer));           // and gave it back
        k.Kernel.Memory.Put(buffer);
    }

    [Fact]
    public void LateTwentySeventeenFastGupChecksTheAddressItself()
    {
        using var k = new FsFixture(KernelConfig.Linux2017Fixed);
        using var tape = new ScsiTape(k.Kernel, _medium, TapeGup.Fast);
        Assert.Equal(13L, KernelWriteToTape(k, tape, out Page buffer));
        Assert.Equal(1, tape.BounceTransfers);
        Assert.Equal(0, k.Kernel.Space.Counters.KernelPagesPinnedByUserGup);
        k.Kernel.Memory.Put(buffer);
    }
}
