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
    public void AlignedUserBufferGoesByDirectIoAndComesBack(object boxedGup) // TapeGup, internal to Kiov
    {
        var gup = (TapeGup)boxedGup;
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

    /// <summary>x86-64 4.10 (arch/x86/mm/gup.c get_user_pages_fast): even a tape converted to the fast
    /// GUP never takes the kernel page: the end above 2^47 goes to the slow path, which refuses it, and
    /// st falls back to the bounce buffer, whose copy_from_user under KERNEL_DS reads the right bytes.</summary>
    [Fact]
    public void Linux410X86FastGupTapeStillBounces()
    {
        using var k = new FsFixture(KernelConfig.Linux2017);
        using var tape = new ScsiTape(k.Kernel, _medium, TapeGup.Fast);
        Assert.Equal(13L, KernelWriteToTape(k, tape, out Page buffer));
        Assert.Equal(1, tape.BounceTransfers);
        Assert.Equal(0, k.Kernel.Space.Counters.KernelPagesPinnedByUserGup);
        Assert.Equal("kernel secret"u8.ToArray(), File.ReadAllBytes(_medium));
        k.Kernel.Memory.Put(buffer);
    }

    /// <summary>32-bit ARM LPAE 4.10 (generic mm/gup.c, gup_huge_pmd): a fast-GUP tape's kernel_write
    /// goes by direct I/O on the kernel's own page, the reference landing on the section's first page.</summary>
    [Fact]
    public void Linux410ArmLpaeFastGupTapeTakesTheKernelPage()
    {
        using var k = new FsFixture(KernelConfig.Linux2017ArmLpae);
        using var tape = new ScsiTape(k.Kernel, _medium, TapeGup.Fast);
        Page buffer = k.Kernel.Memory.Alloc(PageOwner.KernelBuffer);
        k.Kernel.Memory.Get(buffer);                                 // its owner holds a second reference, so the stray put leaves it alive
        Page head = new(buffer.Pfn & ~511);
        int headBefore = k.Kernel.Memory.RefCount(head);
        "kernel secret"u8.CopyTo(k.Kernel.Memory.Span(buffer));
        var file = tape.Open(FMode.Write);
        long pos = 0;
        Assert.Equal(13L, KernelRw.KernelWrite(k.P, file, PhysicalMemory.KernelAddress(buffer), 13, ref pos));
        file.Put();
        Assert.Equal(1, tape.DirectTransfers);
        Assert.Equal(1, k.Kernel.Space.Counters.KernelPagesPinnedByUserGup);
        Assert.Equal(1, k.Kernel.Memory.RefCount(buffer));           // put_page dropped a reference it never took
        Assert.Equal(headBefore + 1, k.Kernel.Memory.RefCount(head)); // and the head keeps one nobody will drop
        k.Kernel.Memory.Put(head);
        k.Kernel.Memory.Put(buffer);
    }

    /// <summary>What that breaks (ARM LPAE 4.10, a fast-GUP tape): kernel_read of a tape block into a
    /// kernel buffer frees the buffer's page under its owner (put_page on a page whose reference went to
    /// the section head); the page goes back to the allocator with a credentials record still in it, a
    /// pipe write by the user gets that page, and the record's uid becomes the user's choice.</summary>
    [Fact]
    public void Linux410ArmLpaeTapeReadFreesALivePageAndACredentialsUidChanges()
    {
        using var k = new FsFixture(KernelConfig.Linux2017ArmLpae);
        using var tape = new ScsiTape(k.Kernel, _medium, TapeGup.Fast);
        File.WriteAllBytes(_medium, new byte[512]);
        var mem = k.Kernel.Memory;
        byte[] attack = new byte[4096];                              // the user's bytes, ready in its memory
        BitConverter.GetBytes(0u).CopyTo(attack, 2048);
        attack.AsSpan(0, 2048).Fill(0x41);
        k.Map(A, 4096);
        k.Poke(A, attack);
        var (r, w) = k.Pipe();
        Page slab = mem.Alloc(PageOwner.KernelBuffer);              // a slab page: a 512-byte buffer at 0, a cred at 2048
        Page head = new(slab.Pfn & ~511);
        BitConverter.GetBytes(1000u).CopyTo(mem.Span(slab)[2048..]);
        var file = tape.Open(FMode.Read);
        long pos = 0;
        Assert.Equal(512L, KernelRw.KernelRead(k.P, file, PhysicalMemory.KernelAddress(slab), 512, ref pos));
        file.Put();
        Assert.Equal(1, tape.DirectTransfers);
        Assert.True((mem.Flags(slab) & PageFlags.Free) != 0);       // freed while the cred in it is live
        Assert.Equal(4096L, Syscalls.Write(k.P, w, A, 4096));     // pipe_write's new page is the freed one
        Assert.Equal(PageOwner.Pipe, mem.Owner(slab));
        Assert.Equal(0u, BitConverter.ToUInt32(mem.Span(slab)[2048..]));
        mem.Put(head);
        Syscalls.Close(k.P, r);
        Syscalls.Close(k.P, w);
    }

    /// <summary>arm64-like 4.10 (generic mm/gup.c, separate kernel root): a fast-GUP tape's kernel_write
    /// of a kernel buffer records the USER page at the aliased address instead, and a kernel_read puts the
    /// tape's data into that user page while the kernel buffer stays as it was.</summary>
    [Fact]
    public void Linux410Arm64FastGupTapeUsesTheAliasedUserPage()
    {
        using var k = new FsFixture(KernelConfig.Linux2017Arm64);
        using var tape = new ScsiTape(k.Kernel, _medium, TapeGup.Fast);
        Page buffer = k.Kernel.Memory.Alloc(PageOwner.KernelBuffer);
        "kernel secret"u8.CopyTo(k.Kernel.Memory.Span(buffer));
        ulong kaddr = PhysicalMemory.KernelAddress(buffer);
        ulong alias = kaddr & ((1UL << 47) - 1);
        k.Map(alias & ~4095UL, 4096);
        k.Poke(alias, "user's bytes!"u8);
        var file = tape.Open(FMode.Read | FMode.Write);
        long pos = 0;
        Assert.Equal(13L, KernelRw.KernelWrite(k.P, file, kaddr, 13, ref pos));
        Assert.Equal("user's bytes!"u8.ToArray(), File.ReadAllBytes(_medium));
        File.WriteAllBytes(_medium, "from the tape"u8.ToArray());
        tape.Rewind();
        Assert.Equal(13L, KernelRw.KernelRead(k.P, file, kaddr, 13, ref pos));
        file.Put();
        Assert.Equal("from the tape"u8.ToArray(), k.Peek(alias, 13));
        Assert.Equal("kernel secret"u8.ToArray(), k.Kernel.Memory.Span(buffer)[..13].ToArray());
        Assert.Equal(2, tape.DirectTransfers);
        Assert.Equal(0, k.Kernel.Space.Counters.KernelPagesPinnedByUserGup);
        k.Kernel.Memory.Put(buffer);
    }

    /// <summary>st.c's sgl_map_user_pages by era: get_user_pages_unlocked in 4.10 and 4.15,
    /// pin_user_pages_fast since 5.9.</summary>
    [Theory]
    [InlineData("4.10", TapeGup.Unlocked)]
    [InlineData("4.15", TapeGup.Unlocked)]
    [InlineData("5.10", TapeGup.PinFast)]
    [InlineData("current", TapeGup.PinFast)]
    public void TheDefaultGupIsTheOneTheErasStUsed(string preset, object boxedExpected) // TapeGup, internal to Kiov
    {
        var expected = (TapeGup)boxedExpected;
        using var k = new FsFixture(KernelConfig.Presets[preset]);
        using var tape = new ScsiTape(k.Kernel, _medium);
        Assert.Equal(expected, tape.Gup);
    }

    /// <summary>st_write in variable-block mode: a count above the drive's max_block is -EINVAL; one
    /// that cannot go by direct I/O and does not fit the largest bounce buffer is -EOVERFLOW
    /// (setup_buffering's enlarge_buffer): never a silent cut.</summary>
    [Fact]
    public void VariableBlockModeRefusesWhatItCannotWriteAsOneBlock()
    {
        using var k = new FsFixture();
        using var limited = new ScsiTape(k.Kernel, _medium, maxBlock: 4096);
        int fd = k.P.Files.Install(limited.Open(FMode.Read | FMode.Write));
        k.Map(A, 64 * 4096);
        Assert.Equal(-Errno.EINVAL, Syscalls.Write(k.P, fd, A, 8192));
        Assert.Equal(4096L, Syscalls.Write(k.P, fd, A, 4096));
        Syscalls.Close(k.P, fd);
        using var small = new ScsiTape(k.Kernel, _medium, maxPages: 4);
        fd = k.P.Files.Install(small.Open(FMode.Read | FMode.Write));
        Assert.Equal(-Errno.EOVERFLOW, Syscalls.Write(k.P, fd, A, 5 * 4096));       // 5 pages > 4: no DIO, no buffer
        Assert.Equal(4L * 4096, Syscalls.Write(k.P, fd, A, 4 * 4096));             // 4 pages: direct I/O, whole
        Assert.Equal(-Errno.EOVERFLOW, Syscalls.Write(k.P, fd, A + 1, 4 * 4096 + 1)); // unaligned: no DIO; 16385 > 16384
        Assert.Equal(0, small.BounceTransfers);
        Syscalls.Close(k.P, fd);
    }

    /// <summary>st_write in fixed-block mode: not whole blocks is -EINVAL; a buffered write loops a
    /// buffer's worth (st_fixed_buffer_size, 32 KiB) at a time and writes everything.</summary>
    [Fact]
    public void FixedBlockModeLoopsThroughItsBuffer()
    {
        using var k = new FsFixture();
        using var tape = new ScsiTape(k.Kernel, _medium, blockSize: 512);
        int fd = k.P.Files.Install(tape.Open(FMode.Read | FMode.Write));
        k.Map(A, 24 * 4096);
        byte[] data = Enumerable.Range(0, 80 * 1024).Select(i => (byte)(i * 13)).ToArray();
        k.Poke(A + 1, data);
        Assert.Equal(-Errno.EINVAL, Syscalls.Write(k.P, fd, A + 1, 1000));
        Assert.Equal(80L * 1024, Syscalls.Write(k.P, fd, A + 1, 80 * 1024));      // unaligned: buffered, 32+32+16 KiB
        Assert.Equal(3, tape.BounceTransfers);
        Assert.Equal(data, File.ReadAllBytes(_medium));
        tape.Rewind();
        Assert.Equal(80L * 1024, Syscalls.Read(k.P, fd, A + 4096 * 3, 80 * 1024)); // aligned: one direct transfer
        Assert.Equal(1, tape.DirectTransfers);
        Assert.Equal(data, k.Peek(A + 4096 * 3, 80 * 1024));
        Syscalls.Close(k.P, fd);
    }

    /// <summary>4.15 x86-64 (generic get_user_pages_fast with access_ok and x86's gup_fast_permitted):
    /// under KERNEL_DS the VA-limit check sends the kernel range to the slow path, which refuses it.</summary>
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
