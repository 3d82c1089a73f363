using Kiov.Fs;
using Kiov.Gup;
using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;
using Kiov.Uaccess;
using static Kiov.Cli.Bench.RoundCheck;

namespace Kiov.Cli.Bench;

/// <summary>
/// A model machine for one benchmark cell: a kernel, one process, and a source and a destination
/// mapping of the segment size, populated, the source filled. Disposing it ends the process and
/// fails if a frame leaked.
/// </summary>
internal sealed class ModelMachine : IDisposable
{
    /// <summary>Where the source and destination buffers are mapped.</summary>
    public const ulong Src = 0x10_0000_0000, Dst = 0x10_4000_0000;

    public ModelMachine(long bytes)
    {
        ulong len = (ulong)Math.Max(bytes, PageGeometry.PageSize);
        Kernel = new Kernel(KernelConfig.Current, (16L << 20) + 4 * (long)len);
        // Page poisoning is a debug option, off by default in the kernel: the bench times the I/O
        // paths, not the use-after-free checks the tests run with.
        Kernel.Memory.PagePoisoning = false;
        P = Kernel.CreateProcess();
        const int Flags = MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed | MapFlags.Populate;
        Expect(Syscalls.Mmap(P, Src, len, Prot.Read | Prot.Write, Flags, -1, 0), (long)Src, "model mmap");
        Expect(Syscalls.Mmap(P, Dst, len, Prot.Read | Prot.Write, Flags, -1, 0), (long)Dst, "model mmap");
        var pattern = new byte[len];
        for (int i = 0; i < pattern.Length; i++) pattern[i] = (byte)(i * 7 + 1);
        Expect((long)UserAccess.CopyToUser(P.Mm, Src, pattern), 0, "model copy_to_user");
        SrcVec = [new IoVec(Src, (ulong)bytes)];
        DstVec = [new IoVec(Dst, (ulong)bytes)];
    }

    /// <summary>One segment: the whole source buffer.</summary>
    public IoVec[] SrcVec { get; }

    /// <summary>One segment: the whole destination buffer.</summary>
    public IoVec[] DstVec { get; }

    public Kernel Kernel { get; }

    public Process P { get; }

    public void Dispose()
    {
        P.Dispose();
        var leaks = Kernel.LeakReport();
        Kernel.Dispose();
        if (leaks.Count != 0) throw new InvalidOperationException($"the model leaked {leaks.Count} frames, first {leaks[0]}");
    }
}

/// <summary>Model: <c>writev</c> of one segment into a pipe (1 MiB of buffers, non-blocking), then
/// <c>readv</c> of it back out.</summary>
internal sealed class ModelPipeRound : IBenchRound
{
    private readonly ModelMachine _m;
    private readonly int _rfd, _wfd;
    private readonly long _size;

    public ModelPipeRound(int size)
    {
        _m = new ModelMachine(size);
        _size = size;
        Expect(Syscalls.Pipe2(_m.P, OpenFlags.NonBlock, out _rfd, out _wfd), 0, "model pipe2");
        Expect(Syscalls.Fcntl(_m.P, _wfd, Fcntl.SetPipeSize, 1 << 20), 1 << 20, "model F_SETPIPE_SZ");
    }

    public void Run()
    {
        Expect(Syscalls.Writev(_m.P, _wfd, _m.SrcVec), _size, "model writev");
        Expect(Syscalls.Readv(_m.P, _rfd, _m.DstVec), _size, "model readv");
    }

    public void Dispose() => _m.Dispose();
}

/// <summary>Model: <c>pwritev</c> of one segment into a memfd at offset 0, then <c>preadv</c> of it back.</summary>
internal sealed class ModelMemfdRound : IBenchRound
{
    private readonly ModelMachine _m;
    private readonly int _fd;
    private readonly long _size;

    public ModelMemfdRound(int size)
    {
        _m = new ModelMachine(size);
        _size = size;
        _fd = (int)Syscalls.MemfdCreate(_m.P, "bench", 0);
        if (_fd < 0) throw new InvalidOperationException($"model memfd_create returned {_fd}");
    }

    public void Run()
    {
        Expect(Syscalls.Pwritev(_m.P, _fd, _m.SrcVec, 0), _size, "model pwritev");
        Expect(Syscalls.Preadv(_m.P, _fd, _m.DstVec, 0), _size, "model preadv");
    }

    public void Dispose() => _m.Dispose();
}

/// <summary>Model: <c>process_vm_readv</c> of the process itself, one segment on each side.</summary>
internal sealed class ModelProcessVmRound : IBenchRound
{
    private readonly ModelMachine _m;
    private readonly long _size;

    public ModelProcessVmRound(int size)
    {
        _m = new ModelMachine(size);
        _size = size;
    }

    public void Run() => Expect(Syscalls.ProcessVmReadv(_m.P, _m.P, _m.DstVec, _m.SrcVec, 0), _size, "model process_vm_readv");

    public void Dispose() => _m.Dispose();
}

/// <summary>Model only: <see cref="PagesPerRound"/> populated pages taken and released in calls of
/// <c>perCall</c> pages, by <c>pin_user_pages_fast</c> + <c>unpin_user_pages</c> or by
/// <c>get_user_pages_fast</c> + <c>put_page</c>.</summary>
internal sealed class ModelPagesRound : IBenchRound
{
    /// <summary>Pages one round takes and releases.</summary>
    public const int PagesPerRound = 1024;

    private readonly ModelMachine _m;
    private readonly int _perCall;
    private readonly bool _pin;
    private readonly Page[] _pages;

    public ModelPagesRound(int perCall, bool pin)
    {
        _m = new ModelMachine(PagesPerRound * (long)PageGeometry.PageSize);
        _perCall = perCall;
        _pin = pin;
        _pages = new Page[perCall];
    }

    public void Run()
    {
        AddressSpace mm = _m.P.Mm;
        KernelSpace space = _m.Kernel.Space;
        for (int first = 0; first < PagesPerRound; first += _perCall)
        {
            ulong at = ModelMachine.Src + ((ulong)first << PageGeometry.PageShift);
            if (_pin)
            {
                int n = UserPages.PinUserPagesFast(mm, at, _perCall, Foll.Write, _pages);
                Expect(n, _perCall, "model pin_user_pages_fast");
                UserPages.UnpinUserPages(space, _pages.AsSpan(0, n));
            }
            else
            {
                int n = UserPages.GetUserPagesFast(mm, at, _perCall, Foll.Write, _pages);
                Expect(n, _perCall, "model get_user_pages_fast");
                UserPages.PutPages(space.Memory, _pages.AsSpan(0, n));
            }
        }
    }

    public void Dispose() => _m.Dispose();
}
