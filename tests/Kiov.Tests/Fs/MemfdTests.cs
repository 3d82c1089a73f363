using Kiov.Fs;
using Kiov.Mm;
using static Kiov.Tests.Fs.FsFixture;

namespace Kiov.Tests.Fs;

public class MemfdTests
{
    [Fact]
    public void HolesReadAsZerosAndWritesExtend()
    {
        using var k = new FsFixture();
        k.Map(A, 3 * 4096);
        k.Poke(A, Enumerable.Repeat((byte)0xab, 4096).ToArray());
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(100L, Syscalls.Pwritev(k.P, fd, [new(A, 100)], 10000));
        Assert.Equal(10100L, ((MemfdFile)GetFile(k, fd)).Size);
        Assert.Equal(8192L, Syscalls.Preadv(k.P, fd, [new(A + 4096, 8192)], 0));
        Assert.True(k.Peek(A + 4096, 8192).All(b => b == 0));
        Assert.Equal(100L, Syscalls.Preadv(k.P, fd, [new(A + 4096, 8192)], 10000));
        Assert.Equal(0L, Syscalls.Preadv(k.P, fd, [new(A + 4096, 8192)], 20000));
    }

    [Fact]
    public void PartialCountsAreByteGranularAtAHole()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        // The host: [[A+100,1000],[A+4000,200]] with a hole at A+4096 writes 1096.
        Assert.Equal(1096L, Syscalls.Writev(k.P, fd, [new(A + 100, 1000), new(A + 4000, 200)]));
        Assert.Equal(1096L, Syscalls.Lseek(k.P, fd, 0, 1));
        Assert.Equal(1096L, Syscalls.Preadv(k.P, fd, [new(A + 3000, 5000)], 0));
        Assert.Equal(-Errno.EFAULT, Syscalls.Preadv(k.P, fd, [new(A + 8192, 10)], 0));
    }

    [Fact]
    public void TruncateShrinksZeroesTheTailAndUnmaps()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        k.Poke(A, Enumerable.Repeat((byte)7, 4096).ToArray());
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(4096L, Syscalls.Pwritev(k.P, fd, [new(A, 4096)], 0));
        Assert.Equal(4096L, Syscalls.Pwritev(k.P, fd, [new(A, 4096)], 4096));
        const ulong M = A + 0x100000;
        Assert.Equal((long)M, Syscalls.Mmap(k.P, M, 8192, Prot.Read | Prot.Write, MapFlags.Shared | MapFlags.Fixed, fd, 0));
        Assert.Equal(7, k.Peek(M + 4096, 1)[0]);
        Assert.Equal(0L, Syscalls.Ftruncate(k.P, fd, 100));
        Assert.Equal(8192UL, Kiov.Uaccess.UserAccess.CopyFromUser(k.P.Mm, new byte[8192], M + 4096)); // page 1 is past EOF: SIGBUS, nothing copied
        Assert.Equal(0L, Syscalls.Ftruncate(k.P, fd, 8192));
        Assert.Equal(new byte[] { 7, 0 }, k.Peek(M + 99, 2));
        Assert.Equal(-Errno.EINVAL, Syscalls.Ftruncate(k.P, fd, -1));
        Assert.Equal(-Errno.EBADF, Syscalls.Ftruncate(k.P, 42, 1));
    }

    [Fact]
    public void SharedMappingSeesWritesAndDontNeedKeepsTheData()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        k.Poke(A, "hello"u8);
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(0L, Syscalls.Ftruncate(k.P, fd, 4096));
        const ulong M = A + 0x100000, Pv = A + 0x200000;
        Assert.Equal((long)M, Syscalls.Mmap(k.P, M, 4096, Prot.Read | Prot.Write, MapFlags.Shared | MapFlags.Fixed, fd, 0));
        Assert.Equal((long)Pv, Syscalls.Mmap(k.P, Pv, 4096, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Fixed, fd, 0));
        Assert.Equal(5L, Syscalls.Pwritev(k.P, fd, [new(A, 5)], 0));
        Assert.Equal("hello"u8.ToArray(), k.Peek(M, 5));
        Assert.Equal("hello"u8.ToArray(), k.Peek(Pv, 5));
        k.Poke(Pv, "HE"u8);                     // private: copy on write, the file is untouched
        Assert.Equal("hello"u8.ToArray(), k.Peek(M, 5));
        k.Poke(M, "J"u8);                       // shared: the file changes
        Assert.Equal(1L, Syscalls.Preadv(k.P, fd, [new(A + 100, 1)], 0));
        Assert.Equal((byte)'J', k.Peek(A + 100, 1)[0]);
        Assert.Equal(0L, Syscalls.Madvise(k.P, M, 4096, Madv.DontNeed));
        Assert.Equal("Jello"u8.ToArray(), k.Peek(M, 5));
        Assert.Equal(0L, Syscalls.Madvise(k.P, Pv, 4096, Madv.DontNeed));
        Assert.Equal("Jello"u8.ToArray(), k.Peek(Pv, 5)); // the private copy is dropped: the file shows again
        Assert.Equal(0L, Syscalls.Close(k.P, fd));
        Assert.Equal("Jello"u8.ToArray(), k.Peek(M, 5)); // the mapping keeps the file alive
    }

    [Fact]
    public void MmapChecksTheFile()
    {
        using var k = new FsFixture();
        var (r, w) = k.Pipe();
        const int Sh = MapFlags.Shared | MapFlags.Fixed, Pr = MapFlags.Private | MapFlags.Fixed;
        Assert.Equal(-Errno.EACCES, Syscalls.Mmap(k.P, A, 4096, Prot.Read | Prot.Write, Sh, r, 0));
        Assert.Equal(-Errno.ENODEV, Syscalls.Mmap(k.P, A, 4096, Prot.Read, Pr, r, 0));
        Assert.Equal(-Errno.EACCES, Syscalls.Mmap(k.P, A, 4096, Prot.Read, Pr, w, 0));
        Assert.Equal(-Errno.EBADF, Syscalls.Mmap(k.P, A, 4096, Prot.Read, Pr, 42, 0));
        Assert.Equal(-Errno.EINVAL, Syscalls.Mmap(k.P, A, 4096, Prot.Read, Pr, 42, 1));
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(-Errno.EOVERFLOW, Syscalls.Mmap(k.P, A, 8192, Prot.Read, Sh, fd, long.MaxValue - 4095));
    }

    public static TheoryData<string> SpliceKernels => ["current", "5.10", "4.10"];

    [Theory]
    [MemberData(nameof(SpliceKernels))]
    public void SpliceLendsThePageCachePage(string preset)
    {
        using var k = new FsFixture(KernelConfig.Presets[preset]);
        k.Map(A, 4 * 4096);
        k.Poke(A, Enumerable.Range(0, 8192).Select(i => (byte)i).ToArray());
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        var (r, w) = k.Pipe();
        Assert.Equal(8192L, Syscalls.Pwritev(k.P, fd, [new(A, 8192)], 100));
        Assert.Equal(8000L, Syscalls.Splice(k.P, fd, 0, w, null, 8000, SpliceFlags.NonBlock));
        k.Poke(A + 3 * 4096, Enumerable.Repeat((byte)0xee, 4096).ToArray());
        Assert.Equal(4096L, Syscalls.Pwritev(k.P, fd, [new(A + 3 * 4096, 4096)], 0));
        Assert.Equal(4096L, Syscalls.Read(k.P, r, A + 2 * 4096, 4096));
        Assert.True(k.Peek(A + 2 * 4096, 4096).All(b => b == 0xee)); // the pipe held the page, not a copy
        Assert.Equal(-Errno.ESPIPE, Syscalls.Splice(k.P, fd, 0, w, 0, 10, 0));
        Assert.Equal(-Errno.EINVAL, Syscalls.Splice(k.P, fd, -1, w, null, 10, 0));
        Assert.Equal(0L, Syscalls.Splice(k.P, fd, 1 << 20, w, null, 10, 0));
        Assert.Equal(-Errno.EINVAL, Syscalls.Splice(k.P, fd, 0, fd, 0, 10, 0));
        Assert.Equal(-Errno.EINVAL, Syscalls.Splice(k.P, r, null, w, null, 10, 0));
        Assert.Equal(-Errno.EBADF, Syscalls.Splice(k.P, w, null, fd, 0, 10, 0));
    }

    [Fact]
    public void SplicePipeToFileWritesThePipesPages()
    {
        using var k = new FsFixture();
        k.Map(A, 4 * 4096);
        k.Poke(A, Enumerable.Range(0, 5000).Select(i => (byte)(i * 3)).ToArray());
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        var (r, w) = k.Pipe();
        Assert.Equal(-Errno.EAGAIN, Syscalls.Splice(k.P, r, null, fd, 0, 10, SpliceFlags.NonBlock));
        Assert.Equal(5000L, Syscalls.Write(k.P, w, A, 5000));
        Assert.Equal(4500L, Syscalls.Splice(k.P, r, null, fd, 50, 4500, SpliceFlags.NonBlock));
        Assert.Equal(4550L, ((MemfdFile)GetFile(k, fd)).Size);
        Assert.Equal(4500L, Syscalls.Preadv(k.P, fd, [new(A + 2 * 4096, 4500)], 50));
        Assert.Equal(k.Peek(A, 4500), k.Peek(A + 2 * 4096, 4500));
        Assert.Equal(500L, k.PipeOf(r).Bytes);
    }

    [Fact]
    public void Preadv2AndPwritev2FlagsAndPositions()
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        k.Poke(A, "abcdef"u8);
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(3L, Syscalls.Pwritev2(k.P, fd, [new(A, 3)], -1, Rwf.None));      // -1: at and moving f_pos
        Assert.Equal(3L, Syscalls.Lseek(k.P, fd, 0, 1));
        Assert.Equal(3L, Syscalls.Pwritev2(k.P, fd, [new(A + 3, 3)], 100, Rwf.DSync)); // explicit: f_pos stays
        Assert.Equal(3L, Syscalls.Lseek(k.P, fd, 0, 1));
        Assert.Equal(-Errno.EOPNOTSUPP, Syscalls.Pwritev2(k.P, fd, [new(A, 3)], 0, (Rwf)0x1000));
        Assert.Equal(0L, Syscalls.Pwritev2(k.P, fd, [new(A, 0)], 0, (Rwf)0x1000)); // nothing to do: flags unchecked
        Assert.Equal(3L, Syscalls.Pwritev2(k.P, fd, [new(A + 3, 3)], 0, Rwf.Append)); // RWF_APPEND writes at the end
        Assert.Equal(106L, Syscalls.Lseek(k.P, fd, 0, 2));
        Assert.Equal(-Errno.EINVAL, Syscalls.Lseek(k.P, fd, -200, 1));
        Assert.Equal(-Errno.EINVAL, Syscalls.Lseek(k.P, fd, 0, 7));
        // shmem files lack FMODE_NOWAIT: RWF_NOWAIT is EOPNOTSUPP (host 6.18).
        Assert.Equal(-Errno.EOPNOTSUPP, Syscalls.Preadv2(k.P, fd, [new(A + 100, 3)], 103, Rwf.NoWait));
        Assert.Equal(3L, Syscalls.Preadv2(k.P, fd, [new(A + 100, 3)], 103, Rwf.HiPri));
        Assert.Equal("def"u8.ToArray(), k.Peek(A + 100, 3));
    }

    [Theory]
    // kiocb_set_rw_flags, in its order. Values from the host (6.18), pwritev2 / preadv2 of 10 bytes
    // on a memfd and on a non-blocking pipe holding data: unknown flags, then APPEND with NOAPPEND,
    // then NOWAIT without FMODE_NOWAIT, then ATOMIC (never on a read; these files cannot), then
    // DONTCACHE (neither file has FOP_DONTCACHE). 0x100 is RWF_NOSIGNAL, known since 6.17.
    [InlineData(0x100, 10, 10, 10, 10)]
    [InlineData(0x200, -95, -95, -95, -95)]
    [InlineData(0x08, -95, -95, 10, 10)]
    [InlineData(0x108, -95, -95, 10, 10)]
    [InlineData(0x30, -22, -22, -22, -22)]
    [InlineData(0x38, -22, -22, -22, -22)]
    [InlineData(0x40, -95, -95, -95, -95)]
    [InlineData(0x48, -95, -95, -95, -95)]
    [InlineData(0x80, -95, -95, -95, -95)]
    [InlineData(0xc0, -95, -95, -95, -95)]
    [InlineData(0x01, 10, 10, 10, 10)]
    [InlineData(0x02, 10, 10, 10, 10)]
    public void RwfFlagsAreCheckedAsKiocbSetRwFlagsDoes(int flags, long memfdWrite, long memfdRead, long pipeWrite, long pipeRead)
    {
        using var k = new FsFixture();
        k.Map(A, 4096);
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(0L, Syscalls.Ftruncate(k.P, fd, 100));
        var (r, w) = k.Pipe();
        Assert.Equal(100L, Syscalls.Write(k.P, w, A, 100));
        var rwf = (Rwf)flags;
        Assert.Equal(memfdWrite, Syscalls.Pwritev2(k.P, fd, [new(A, 10)], 0, rwf));
        Assert.Equal(memfdRead, Syscalls.Preadv2(k.P, fd, [new(A, 10)], 0, rwf));
        Assert.Equal(pipeWrite, Syscalls.Pwritev2(k.P, w, [new(A, 10)], -1, rwf));
        Assert.Equal(pipeRead, Syscalls.Preadv2(k.P, r, [new(A, 10)], -1, rwf));
    }

    [Fact]
    public void AppendingNearTheLargestFileWritesUpToItThenEfbig()
    {
        // generic_write_check_limits: EFBIG at MAX_LFS_FILESIZE, and the count is cut to what fits.
        // Host (6.18): size 2^63-10, pwritev2(100 bytes, pos 0, RWF_APPEND) = 9 and the size is
        // 2^63-1; again with pos -1 (f_pos 0): EFBIG, f_pos unchanged.
        using var k = new FsFixture();
        k.Map(A, 4096);
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(0L, Syscalls.Ftruncate(k.P, fd, long.MaxValue - 9));
        Assert.Equal(9L, Syscalls.Pwritev2(k.P, fd, [new(A, 100)], 0, Rwf.Append));
        Assert.Equal(long.MaxValue, ((MemfdFile)GetFile(k, fd)).Size);
        Assert.Equal(-Errno.EFBIG, Syscalls.Pwritev2(k.P, fd, [new(A, 100)], -1, Rwf.Append));
        Assert.Equal(0L, Syscalls.Lseek(k.P, fd, 0, 1));
    }

    [Fact]
    public void AnEmptyWriteAtTheLargestOffsetIsZero()
    {
        // generic_write_checks_count returns 0 for nothing to write before any limit is looked at.
        // Host (6.18): lseek to 2^63-1, write 0 bytes = 0, write 1 byte = EINVAL (rw_verify_area).
        using var k = new FsFixture();
        k.Map(A, 4096);
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(long.MaxValue, Syscalls.Lseek(k.P, fd, long.MaxValue, 0));
        Assert.Equal(0L, Syscalls.Write(k.P, fd, A, 0));
        Assert.Equal(-Errno.EINVAL, Syscalls.Write(k.P, fd, A, 1));
    }

    [Fact]
    public void SeekDataAndSeekHoleFindCachedPages()
    {
        // shmem_file_llseek → mapping_seek_hole_data: a page in the cache is data, a missing one a
        // hole, up to i_size; past it, or from a negative offset, ENXIO. Host (6.18): data at
        // [0,100) and [12298,12308), size 5*4096+7.
        using var k = new FsFixture();
        k.Map(A, 4096);
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(100L, Syscalls.Pwrite(k.P, fd, A, 100, 0));
        Assert.Equal(10L, Syscalls.Pwrite(k.P, fd, A, 10, 3 * 4096 + 10));
        Assert.Equal(0L, Syscalls.Ftruncate(k.P, fd, 5 * 4096 + 7));
        const int SeekData = 3, SeekHole = 4;
        (long off, long data, long hole)[] host =
        [
            (-1, -6, -6), (0, 0, 4096), (50, 50, 4096), (4096, 12288, 4096), (5000, 12288, 5000),
            (12288, 12288, 16384), (12308, 12308, 16384), (16384, -6, 16384), (20486, -6, 20486),
            (20487, -6, -6), (20488, -6, -6), (1L << 62, -6, -6),
        ];
        foreach (var (off, data, hole) in host)
        {
            Assert.Equal(data, Syscalls.Lseek(k.P, fd, off, SeekData));
            Assert.Equal(hole, Syscalls.Lseek(k.P, fd, off, SeekHole));
        }
        Assert.Equal(20486L, Syscalls.Lseek(k.P, fd, 0, 1)); // the last success moved f_pos
        int empty = (int)Syscalls.MemfdCreate(k.P, "e", 0);
        Assert.Equal(-Errno.ENXIO, Syscalls.Lseek(k.P, empty, 0, SeekData));
        Assert.Equal(-Errno.ENXIO, Syscalls.Lseek(k.P, empty, 0, SeekHole));
        // A file whose data runs to its end: the hole is at i_size.
        Assert.Equal(0L, Syscalls.Ftruncate(k.P, empty, 100));
        Assert.Equal(100L, Syscalls.Pwrite(k.P, empty, A, 100, 0));
        Assert.Equal(100L, Syscalls.Lseek(k.P, empty, 0, SeekHole));
    }

    [Fact]
    public void MemfdCreateRefusesExecWithNoexecSeal()
    {
        // sanitize_flags: MFD_EXEC with MFD_NOEXEC_SEAL is EINVAL (host 6.18: 0x18 → EINVAL, 0x10 and 0xb work).
        using var k = new FsFixture();
        Assert.Equal(-Errno.EINVAL, Syscalls.MemfdCreate(k.P, "n", 0x18));
        Assert.True(Syscalls.MemfdCreate(k.P, "n", 0x10) >= 0);
        Assert.True(Syscalls.MemfdCreate(k.P, "n", 0xb) >= 0);
    }

    [Fact]
    public void SplicedPagesSurviveTruncationAndClose()
    {
        // The pipe holds its own reference on each page-cache page it was lent. Host (6.18): splice
        // 8192 bytes of 'A', ftruncate to 100, close: the pipe gives 100 'A', 3996 zeros (the
        // truncated tail of page 0 was zeroed), then page 1's 4096 'A' unchanged.
        using var k = new FsFixture();
        k.Map(A, 0x10000);
        k.Poke(A, Enumerable.Repeat((byte)'A', 8192).ToArray());
        int fd = (int)Syscalls.MemfdCreate(k.P, "t", 0);
        Assert.Equal(8192L, Syscalls.Write(k.P, fd, A, 8192));
        var (r, w) = k.Pipe();
        Assert.Equal(8192L, Syscalls.Splice(k.P, fd, 0, w, null, 8192, 0));
        Assert.Equal(0L, Syscalls.Ftruncate(k.P, fd, 100));
        Assert.Equal(0L, Syscalls.Close(k.P, fd));
        Assert.Equal(8192L, Syscalls.Read(k.P, r, A + 0x8000, 9000));
        var got = k.Peek(A + 0x8000, 8192);
        Assert.True(got.AsSpan(0, 100).ToArray().All(b => b == 'A'));
        Assert.True(got.AsSpan(100, 3996).ToArray().All(b => b == 0));
        Assert.True(got.AsSpan(4096).ToArray().All(b => b == 'A'));
    }

    private static KFile GetFile(FsFixture k, int fd)
    {
        var f = k.P.Files.Get(fd)!;
        f.Put();
        return f;
    }
}
