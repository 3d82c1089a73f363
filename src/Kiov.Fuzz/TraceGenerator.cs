using System.Globalization;
using Kiov.Iov;
using static Kiov.Trace.Fuzz.TraceLineWriter;

namespace Kiov.Trace.Fuzz;

/// <summary>
/// Makes random traces (docs/trace-format.md) whose results Linux decides deterministically, so that the model
/// and the host must print the same: every op is non-blocking, every mapping, munmap, mprotect and
/// madvise stays in a 2 MiB window at the start of the arena (<see cref="ArenaTracker"/>) or is
/// refused by the kernel before it acts (unaligned start, a length that wraps, an address no user
/// mapping can have), every other address is in the arena or is one of
/// <see cref="BadAddresses"/>, so an access runs into PROT_NONE or a hole within a few MiB at the
/// latest, and at most <see cref="MaxOpenFds"/> trace fds are open at once. The same seed and op
/// count always give the same lines.
/// </summary>
internal sealed partial class TraceGenerator
{
    /// <summary>The most trace fds a generated trace holds open at once.</summary>
    public const int MaxOpenFds = 12;

    private readonly FuzzRandom _rng;
    private ArenaTracker _arena = new();                  // of the process in use (TraceGenerator.Processes.cs)
    private SortedDictionary<int, FdKind> _open = [];
    private List<int> _closed = [];
    private readonly List<string> _lines = [];

    private enum FdKind
    {
        PipeRead,
        PipeWrite,
        Memfd,
    }

    /// <summary>The grain of every offset and length a copy between user memory and a page uses.
    /// Half the traces use 64: a page that user memory maps (a vmspliced user page, a memfd page
    /// mapped shared, the same page read and written by process_vm_*) can be copied onto itself,
    /// and what such an overlap gives at a distance below 64 bytes is up to the CPU (this host's
    /// rep movsb gives neither a forward copy's nor memmove's bytes), not up to Linux. The other
    /// half keep byte-granular sizes and make no such alias: no file mappings, no vmsplice of user
    /// pages into a pipe, no process_vm_*.</summary>
    private readonly ulong _grain;

    private TraceGenerator(ulong seed, bool processes)
    {
        _withProcesses = processes;
        _rng = new FuzzRandom(seed);
        _grain = _rng.Chance(50) ? 64UL : 1UL;
    }

    private bool AliasFree => _grain == 1;

    /// <summary>A trace of <paramref name="ops"/> lines (each one op), made from <paramref name="seed"/>.</summary>
    /// <param name="seed">The seed: the same seed gives the same trace.</param>
    /// <param name="ops">How many lines.</param>
    /// <param name="processes">Whether the trace may fork, exit and name other processes (fork, exit,
    /// pid, target, mem_*); without them the same seed gives the same trace as before processes existed.</param>
    public static List<string> Generate(ulong seed, int ops, bool processes = false)
    {
        var g = new TraceGenerator(seed, processes);
        g.Prologue();
        while (g._lines.Count < ops)
            g.Step();
        g._lines.RemoveRange(ops, g._lines.Count - ops);
        return g._lines;
    }

    private void Emit(string line) => _lines.Add(WithPid(line));

    // Something to work with from the first line: a read-write anonymous mapping, and most of the
    // time a memfd and a pipe (random ops find nothing mapped or open otherwise for a long while).
    private void Prologue()
    {
        int pages = 16 + _rng.Below(48);
        int first = _rng.Below(ArenaTracker.WindowPages - pages);
        _arena.Map(first, pages, Abi.Prot.Read | Abi.Prot.Write);
        Emit($"{{\"op\":\"mmap\",\"addr\":{Addr(ArenaTracker.AddressOf(first))},\"len\":{Len((ulong)pages * ArenaTracker.PageSize)},\"prot\":\"rw\",\"flags\":[\"private\",\"anonymous\",\"fixed\"]}}");
        if (_rng.Chance(75))
            Memfd();
        if (_rng.Chance(75))
            Pipe();
    }

    private void Step()
    {
        if (ProcessStep())
            return;
        if (_rng.Chance(35))
        {
            StepV2();
            return;
        }
        int roll = _rng.Below(100);
        switch (roll)
        {
            case < 12: Hash(); break;
            case < 21: Fill(); break;
            case < 29: Mmap(); break;
            case < 32: MmRange("munmap", null); break;
            case < 36: MmRange("mprotect", RandomProt()); break;
            case < 39: MmRange("madvise", null); break;
            case < 43: Pipe(); break;
            case < 46: Memfd(); break;
            case < 49: Close(); break;
            case < 52: Ftruncate(); break;
            case < 57: Rw("read", Fd(FdKind.PipeRead, FdKind.Memfd), write: false); break;
            case < 63: Rw("write", Fd(FdKind.PipeWrite, FdKind.Memfd), write: true); break;
            case < 67: Vector("readv", Fd(FdKind.PipeRead, FdKind.Memfd), write: false, offset: false); break;
            case < 72: Vector("writev", Fd(FdKind.PipeWrite, FdKind.Memfd), write: true, offset: false); break;
            case < 75: Vector("preadv", Fd(FdKind.Memfd), write: false, offset: true); break;
            case < 78: Vector("pwritev", Fd(FdKind.Memfd), write: true, offset: true); break;
            case < 84: Vmsplice(); break;
            case < 91: Splice(); break;
            case < 95 when !AliasFree: ProcessVm("process_vm_readv", localWrite: true); break;
            case >= 95 when !AliasFree: ProcessVm("process_vm_writev", localWrite: false); break;
            default: Hash(); break;
        }
        if (_rng.Chance(12))
            Hash();
    }

    private void Hash()
    {
        ulong addr, len;
        if (_rng.Chance(15))
        {
            addr = ArenaTracker.WindowStart + (ulong)_rng.Below(ArenaTracker.WindowPages) * ArenaTracker.PageSize;
            len = ArenaTracker.WindowEnd - addr;
        }
        else
        {
            addr = UserAddr(write: false);
            len = _rng.Chance(85) ? 1 + _rng.Below(5 * 4096UL) : UserLen();
        }
        Emit($"{{\"op\":\"hash\",\"addr\":{Addr(addr)},\"len\":{Len(len)}}}");
    }

    private void Fill()
    {
        ulong addr = UserAddr(write: true);
        ulong len = _rng.Chance(80) ? 1 + _rng.Below(6 * 4096UL) : UserLen();
        uint seed = (uint)_rng.Below(1000UL);
        Emit($"{{\"op\":\"fill\",\"addr\":{Addr(addr)},\"len\":{Len(len)},\"seed\":{seed}}}");
    }

    private void Mmap()
    {
        var (first, pages) = WindowRange(32);
        ulong addr = ArenaTracker.AddressOf(first);
        ulong len = (ulong)pages * ArenaTracker.PageSize - (_rng.Chance(10) ? _rng.Below(4095UL) : 0);
        bool valid = true;
        int roll = _rng.Below(100);
        if (roll < 4)
        {
            addr += 1 + _rng.Below(4095UL);
            valid = false;
        }
        else if (roll < 7)
        {
            len = 0;
            valid = false;
        }
        int prot = RandomProt();
        int kind = _rng.Below(100);
        string flags;
        string file = "";
        if (kind < 40)
            flags = "\"private\",\"anonymous\",\"fixed\"";
        else if (kind < 55)
            flags = "\"shared\",\"anonymous\",\"fixed\"";
        else if (kind < 97 && AliasFree)
            flags = "\"private\",\"anonymous\",\"fixed\"";
        else if (kind < 97)
        {
            flags = kind < 80 ? "\"shared\",\"fixed\"" : "\"private\",\"fixed\"";
            int fd = Fd(FdKind.Memfd);
            long offset = _rng.Chance(90) ? (long)_rng.Below(16UL) * 4096 : Offset();
            valid &= _open.TryGetValue(fd, out FdKind k) && k == FdKind.Memfd && offset >= 0 && offset % 4096 == 0 && offset < 1L << 40;
            file = string.Create(CultureInfo.InvariantCulture, $",\"fd\":{fd},\"offset\":{Off(offset)}");
        }
        else
        {
            flags = _rng.Chance(50) ? "\"anonymous\",\"fixed\"" : "\"private\",\"shared\",\"anonymous\",\"fixed\"";
            valid = false;
        }
        if (valid)
            _arena.Map(first, pages, prot);
        Emit($"{{\"op\":\"mmap\",\"addr\":{Addr(addr)},\"len\":{Len(len)},\"prot\":{Prot(prot)},\"flags\":[{flags}]{file}}}");
    }

    /// <summary>munmap, mprotect (<paramref name="prot"/> given) or madvise(DONTNEED) on a range the
    /// kernel either keeps inside the window or refuses before acting on anything: the host
    /// runner's own memory lies outside the arena, and a range reaching it would be changed.</summary>
    private void MmRange(string op, int? prot)
    {
        var (first, pages) = WindowRange(48);
        ulong addr = ArenaTracker.AddressOf(first);
        ulong len = (ulong)pages * ArenaTracker.PageSize;
        int roll = _rng.Below(100);
        bool valid = false;
        if (roll < 6)
            addr += 1 + _rng.Below(4095UL);
        else if (roll < 11)
            len = _rng.Chance(50) ? ulong.MaxValue : ulong.MaxValue - 4095;
        else if (roll < 15)
        {
            addr = _rng.Pick(new ulong[] { 0xffff888000000000, 0x800000000000, 0xdead000000000000 });
            len = _rng.Pick(SmallLengths);
        }
        else if (roll < 17)
        {
            addr = 0x1000 * (ulong)_rng.Below(4);
            len = 4096;
        }
        else if (roll < 20)
        {
            addr = ArenaTracker.WindowEnd + (ulong)_rng.Below(32) * ArenaTracker.PageSize;
            len = (1 + _rng.Below(8UL)) * ArenaTracker.PageSize;
        }
        else if (roll < 23)
            len = 0;
        else
        {
            len -= _rng.Chance(15) ? _rng.Below(4095UL) : 0;
            valid = true;
        }
        string tail = op switch
        {
            "mprotect" => $",\"prot\":{Prot(prot!.Value)}",
            "madvise" => ",\"advice\":\"dontneed\"",
            _ => "",
        };
        if (valid && op == "munmap")
            _arena.Unmap(first, pages);
        else if (valid && op == "mprotect")
            _arena.Protect(first, pages, prot!.Value);
        Emit($"{{\"op\":\"{op}\",\"addr\":{Addr(addr)},\"len\":{Len(len)}{tail}}}");
    }

    private int NextFd()
    {
        int fd = 3;
        while (_open.ContainsKey(fd))
            fd++;
        return fd;
    }

    private void Pipe()
    {
        if (_open.Count + 2 > MaxOpenFds)
        {
            Close();
            return;
        }
        int r = NextFd();
        _open[r] = FdKind.PipeRead;
        int w = NextFd();
        _open[w] = FdKind.PipeWrite;
        _closed.Remove(r);
        _closed.Remove(w);
        Emit("{\"op\":\"pipe\"}");
    }

    private void Memfd()
    {
        if (_open.Count + 1 > MaxOpenFds)
        {
            Close();
            return;
        }
        int fd = NextFd();
        _open[fd] = FdKind.Memfd;
        _closed.Remove(fd);
        Emit("{\"op\":\"memfd\"}");
    }

    private void Close()
    {
        int fd = _open.Count > 0 && _rng.Chance(90) ? _rng.Pick(_open.Keys.ToList()) : Fd();
        if (_open.Remove(fd))
            _closed.Add(fd);
        Emit(string.Create(CultureInfo.InvariantCulture, $"{{\"op\":\"close\",\"fd\":{fd}}}"));
    }

    private void Ftruncate()
    {
        int fd = Fd(FdKind.Memfd);
        long len = _rng.Below(100) switch
        {
            < 40 => (long)_rng.Below(16UL) * 4096,
            < 80 => (long)Grain(_rng.Below(70000UL)),
            _ => _rng.Pick(new[] { -1L, 1L << 40, long.MaxValue, long.MaxValue - 4095, long.MinValue }),
        };
        Emit(string.Create(CultureInfo.InvariantCulture, $"{{\"op\":\"ftruncate\",\"fd\":{fd},\"len\":{Off(len)}}}"));
    }

    private void Rw(string op, int fd, bool write)
    {
        ulong addr = UserAddr(write: !write);
        ulong len = UserLen();
        Emit(string.Create(CultureInfo.InvariantCulture, $"{{\"op\":\"{op}\",\"fd\":{fd},\"addr\":{Addr(addr)},\"len\":{Len(len)}}}"));
    }

    private void Vector(string op, int fd, bool write, bool offset)
    {
        IoVec[] iov = Iovecs(write: !write);
        string off = offset ? $",\"offset\":{Off(Offset())}" : "";
        Emit(string.Create(CultureInfo.InvariantCulture, $"{{\"op\":\"{op}\",\"fd\":{fd},\"iov\":{TraceLineWriter.Iov(iov)}{off}}}"));
    }

    private void Splice()
    {
        bool toPipe = _rng.Chance(50);
        int fdIn = toPipe ? Fd(FdKind.Memfd, FdKind.PipeRead) : Fd(FdKind.PipeRead);
        int fdOut = toPipe ? Fd(FdKind.PipeWrite) : Fd(FdKind.Memfd, FdKind.PipeWrite);
        string offIn = SpliceOffset(fdIn), offOut = SpliceOffset(fdOut);
        ulong len = _rng.Chance(85) ? Grain(_rng.Pick(new ulong[] { 0, 1, 100, 4096, 5000, 65536, 1 << 20 })) : UserLen();
        Emit(string.Create(CultureInfo.InvariantCulture,
            $"{{\"op\":\"splice\",\"fd_in\":{fdIn},\"off_in\":{offIn},\"fd_out\":{fdOut},\"off_out\":{offOut},\"len\":{Len(len)}}}"));
    }

    private string SpliceOffset(int fd)
    {
        bool memfd = _open.TryGetValue(fd, out FdKind kind) && kind == FdKind.Memfd;
        return (memfd ? _rng.Chance(60) : _rng.Chance(8)) ? Off(Offset()) : "null";
    }

    // vmsplice of user pages into a pipe (the write end) makes them pipe pages, which a later copy
    // can copy onto themselves; an alias-free trace only vmsplices out of a pipe.
    private void Vmsplice()
    {
        int fd = Fd(FdKind.PipeWrite, FdKind.PipeRead);
        if (AliasFree && !(_open.TryGetValue(fd, out FdKind kind) && kind == FdKind.PipeRead))
        {
            Hash();
            return;
        }
        Vector("vmsplice", fd, write: _rng.Chance(20), offset: false);
    }

    private void ProcessVm(string op, bool localWrite)
    {
        IoVec[] local = Iovecs(localWrite), remote = Iovecs(!localWrite);
        Emit($"{{\"op\":\"{op}\",\"local\":{TraceLineWriter.Iov(local)},\"remote\":{TraceLineWriter.Iov(remote)}}}");
    }
}
