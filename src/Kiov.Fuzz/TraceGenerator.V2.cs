using System.Globalization;
using Kiov.Iov;
using static Kiov.Trace.Fuzz.TraceLineWriter;

namespace Kiov.Trace.Fuzz;

// The ops of docs/trace-format.md version 2. What keeps their results Linux's alone:
// - Pipes stay non-blocking: every reopen has "nonblock" and every setfl keeps it (a dup shares
//   the open file, so its flags too), since an open the generator believed done may have failed
//   and shifted which fd numbers are pipes.
// - MADV_FREE lets reclaim drop the pages until they are written again, which depends on memory
//   pressure: "free" is generated only on a range the tracker believes wholly read-write and is
//   followed at once by a fill of that whole range, which dirties (or refaults and writes) every
//   page, so what any later op sees is the fill's pattern either way.
// - MADV_PAGEOUT and MADV_COLD leave every page resident on a host without swap (anonymous and
//   shmem pages have nowhere to go), which is what HostSettings reports as swap=no; mincore is
//   then decided by the trace alone. On a host with swap a pageout followed by mincore could
//   differ from the model, which models the machine without swap.
// - Every range a call acts on as a whole (mremap's old and new ranges, mlock, munlock, msync,
//   mincore) lies in the window, or is refused before acting, as the other mm calls are.
internal sealed partial class TraceGenerator
{
    private static readonly string[] Advices =
    [
        "normal", "random", "sequential", "willneed", "dontneed", "remove", "dontfork", "dofork",
        "wipeonfork", "keeponfork", "cold", "pageout", "populate_read", "populate_write", "free",
    ];

    private static readonly string[] Seals = ["seal", "shrink", "grow", "write", "future_write"];

    private static readonly string[] RwfFlags = ["hipri", "dsync", "sync", "nowait", "append", "noappend"];

    private static readonly ulong[] PipeSizes = [0, 1, 4096, 4097, 8192, 65536, 131072, 1 << 20, (1 << 20) + 1, 2 << 20, 0x80000000, 0x80000001, 0x100001000];

    // One of the version 2 ops, chosen evenly enough that each shows up in a few hundred lines.
    private void StepV2()
    {
        switch (_rng.Below(22))
        {
            case 0: MemfdV2(); break;
            case 1: Reopen(); break;
            case 2: Dup(); break;
            case 3: Lseek(); break;
            case 4: case 5: Fcntl(); break;
            case 6: Tee(); break;
            case 7: Vector2("preadv2", Fd(FdKind.PipeRead, FdKind.Memfd), write: false); break;
            case 8: Vector2("pwritev2", Fd(FdKind.PipeWrite, FdKind.Memfd), write: true); break;
            case 9: case 10: VectorAt(); break;
            case 11: Poke(); break;
            case 12: MmapV2(); break;
            case 13: Mremap(); break;
            case 14: case 15: MadviseV2(); break;
            case 16: MmRangeV2("mlock", ""); break;
            case 17: MmRangeV2("munlock", ""); break;
            case 18: MmRangeV2("msync", $",\"flags\":{Words(["async", "sync", "invalidate"], 40)}"); break;
            case 19: case 20: MmRangeV2("mincore", ""); break;
            default: ProcessVmAt(); break;
        }
    }

    private string Words(IReadOnlyList<string> words, int percent)
    {
        var chosen = words.Where(_ => _rng.Chance(percent)).Select(w => $"\"{w}\"");
        return "[" + string.Join(',', chosen) + "]";
    }

    private void MemfdV2()
    {
        if (_open.Count + 1 > MaxOpenFds)
        {
            Close();
            return;
        }
        int fd = NextFd();
        _open[fd] = FdKind.Memfd;
        _closed.Remove(fd);
        Emit(_rng.Chance(60) ? "{\"op\":\"memfd\",\"flags\":[\"allow_sealing\"]}" : "{\"op\":\"memfd\"}");
    }

    private void AddFdLike(FdKind kind)
    {
        int fd = NextFd();
        _open[fd] = kind;
        _closed.Remove(fd);
    }

    // A reopened pipe end is always non-blocking; its kind follows its access (rdwr counts as a write end).
    private void Reopen()
    {
        if (_open.Count + 1 > MaxOpenFds)
        {
            Close();
            return;
        }
        int fd = Fd(FdKind.Memfd, FdKind.PipeRead, FdKind.PipeWrite);
        bool open = _open.TryGetValue(fd, out FdKind kind);
        string access = _rng.Pick(new[] { "rdonly", "wronly", "rdwr" });
        var flags = new List<string> { access };
        if (_rng.Chance(20)) flags.Add("append");
        flags.Add("nonblock"); // the generator's idea of which fd is a pipe may be wrong after a failed open
        if (open && kind == FdKind.Memfd && _rng.Chance(8)) flags.Add("trunc");
        if (open)
            AddFdLike(kind == FdKind.Memfd ? FdKind.Memfd : access == "rdonly" ? FdKind.PipeRead : FdKind.PipeWrite);
        Emit(string.Create(CultureInfo.InvariantCulture,
            $"{{\"op\":\"reopen\",\"fd\":{fd},\"flags\":[{string.Join(',', flags.Select(f => $"\"{f}\""))}]}}"));
    }

    private void Dup()
    {
        if (_open.Count + 1 > MaxOpenFds)
        {
            Close();
            return;
        }
        int fd = Fd(FdKind.Memfd, FdKind.PipeRead, FdKind.PipeWrite);
        if (_open.TryGetValue(fd, out FdKind kind))
            AddFdLike(kind);
        Emit(string.Create(CultureInfo.InvariantCulture, $"{{\"op\":\"dup\",\"fd\":{fd}}}"));
    }

    private void Lseek()
    {
        int fd = Fd(FdKind.Memfd);
        string whence = _rng.Pick(new[] { "set", "cur", "end", "data", "hole" });
        long offset = _rng.Chance(30) ? 0 : _rng.Chance(20) ? -(long)_rng.Below(10000UL) : Offset();
        Emit(string.Create(CultureInfo.InvariantCulture, $"{{\"op\":\"lseek\",\"fd\":{fd},\"offset\":{Off(offset)},\"whence\":\"{whence}\"}}"));
    }

    private void Fcntl()
    {
        int roll = _rng.Below(6);
        int fd = roll < 2 ? Fd(FdKind.PipeRead, FdKind.PipeWrite) : roll < 4 ? Fd(FdKind.Memfd) : Fd(FdKind.Memfd, FdKind.PipeRead, FdKind.PipeWrite);
        string tail = _rng.Below(6) switch
        {
            0 => ",\"cmd\":\"getpipe_sz\"",
            1 => $",\"cmd\":\"setpipe_sz\",\"arg\":{Len(_rng.Pick(PipeSizes))}",
            2 => $",\"cmd\":\"add_seals\",\"arg\":{Words(Seals, 25)}",
            3 => ",\"cmd\":\"get_seals\"",
            4 => ",\"cmd\":\"getfl\"",
            // Every file keeps O_NONBLOCK: a blocking pipe could wait forever, and the generator's
            // idea of which fd is a pipe may be wrong after an open it believed done failed.
            _ => _rng.Chance(50) ? ",\"cmd\":\"setfl\",\"arg\":[\"nonblock\"]" : ",\"cmd\":\"setfl\",\"arg\":[\"nonblock\",\"append\"]",
        };
        Emit(string.Create(CultureInfo.InvariantCulture, $"{{\"op\":\"fcntl\",\"fd\":{fd}{tail}}}"));
    }

    private void Tee()
    {
        int fdIn = Fd(FdKind.PipeRead), fdOut = Fd(FdKind.PipeWrite);
        ulong len = _rng.Chance(85) ? Grain(_rng.Pick(new ulong[] { 0, 1, 100, 4096, 5000, 65536, 1 << 20 })) : UserLen();
        Emit(string.Create(CultureInfo.InvariantCulture, $"{{\"op\":\"tee\",\"fd_in\":{fdIn},\"fd_out\":{fdOut},\"len\":{Len(len)}}}"));
    }

    private void Vector2(string op, int fd, bool write)
    {
        IoVec[] iov = Iovecs(write: !write);
        long offset = _rng.Chance(40) ? -1 : Offset();
        Emit(string.Create(CultureInfo.InvariantCulture,
            $"{{\"op\":\"{op}\",\"fd\":{fd},\"iov\":{TraceLineWriter.Iov(iov)},\"offset\":{Off(offset)},\"flags\":{Words(RwfFlags, 15)}}}"));
    }

    // An iovec array poked into a writable page (or a bad place), then a call that reads it there.
    private ulong PokeIovecs(bool write, out int count)
    {
        IoVec[] iov = Iovecs(write);
        count = iov.Length;
        int page = _arena.PickPage(_rng, Writable);
        ulong at = ArenaTracker.AddressOf(page) + (ulong)_rng.Below(4) * 1024 + (_rng.Chance(10) ? 8UL : 0);
        int shown = Math.Min(iov.Length, 64);
        if (shown > 0)
        {
            var words = new List<string>();
            foreach (IoVec v in iov.Take(shown))
            {
                words.Add(Addr(v.Base));
                words.Add(Len(v.Len));
            }
            Emit($"{{\"op\":\"poke\",\"addr\":{Addr(at)},\"u64\":[{string.Join(',', words)}]}}");
        }
        return _rng.Chance(8) ? _rng.Pick(BadAddresses) : at;
    }

    private ulong IovCount(int count) => _rng.Below(20) switch
    {
        0 => 0,
        1 => IovLimits.MaxIov + 1UL,
        2 => (1UL << 32) + (ulong)count,
        3 => (ulong)count + 1,
        _ => (ulong)count,
    };

    private void VectorAt()
    {
        (string op, int fd, bool write, bool offset, bool flags) = _rng.Below(7) switch
        {
            0 => ("readv", Fd(FdKind.PipeRead, FdKind.Memfd), false, false, false),
            1 => ("writev", Fd(FdKind.PipeWrite, FdKind.Memfd), true, false, false),
            2 => ("preadv", Fd(FdKind.Memfd), false, true, false),
            3 => ("pwritev", Fd(FdKind.Memfd), true, true, false),
            4 => ("preadv2", Fd(FdKind.PipeRead, FdKind.Memfd), false, true, true),
            5 => ("pwritev2", Fd(FdKind.PipeWrite, FdKind.Memfd), true, true, true),
            _ => ("vmsplice", Fd(FdKind.PipeRead), false, false, false),
        };
        ulong at = PokeIovecs(write: !write, out int count);
        string off = offset ? $",\"offset\":{Off(_rng.Chance(30) ? -1 : Offset())}" : "";
        string fl = flags ? $",\"flags\":{Words(RwfFlags, 15)}" : "";
        Emit(string.Create(CultureInfo.InvariantCulture,
            $"{{\"op\":\"{op}\",\"fd\":{fd},\"iov_addr\":{Addr(at)},\"iovcnt\":{Len(IovCount(count))}{off}{fl}}}"));
    }

    private void ProcessVmAt()
    {
        if (AliasFree)
        {
            Poke();
            return;
        }
        bool writev = _rng.Chance(50);
        ulong local = PokeIovecs(write: !writev, out int lc);
        ulong remote = PokeIovecs(write: writev, out int rc);
        Emit($"{{\"op\":\"{(writev ? "process_vm_writev" : "process_vm_readv")}\",\"local_addr\":{Addr(local)},\"local_cnt\":{Len(IovCount(lc))},\"remote_addr\":{Addr(remote)},\"remote_cnt\":{Len(IovCount(rc))}}}");
    }

    private void Poke()
    {
        ulong addr = UserAddr(write: true);
        int n = _rng.Below(6);
        var words = Enumerable.Range(0, n).Select(_ => Len(_rng.Chance(50) ? _rng.Below(1UL << 32) : _rng.Pick(BadAddresses)));
        Emit($"{{\"op\":\"poke\",\"addr\":{Addr(addr)},\"u64\":[{string.Join(',', words)}]}}");
    }

    // mmap with version 2 flags: populate, noreserve, locked, growsdown, shared_validate, fixed_noreplace.
    private void MmapV2()
    {
        var (first, pages) = WindowRange(16);
        ulong addr = ArenaTracker.AddressOf(first);
        int prot = RandomProt();
        var flags = new List<string> { _rng.Below(8) switch { 0 => "shared_validate", < 3 => "shared", _ => "private" } };
        bool file = !AliasFree && _rng.Chance(30);
        if (!file) flags.Add("anonymous");
        flags.Add(_rng.Below(4) switch { 0 => "fixed_noreplace", 1 => "fixed_noreplace\",\"fixed", _ => "fixed" });
        foreach (string extra in new[] { "populate", "noreserve", "locked", "growsdown" })
            if (_rng.Chance(20)) flags.Add(extra);
        string tail = "";
        if (file)
        {
            int fd = Fd(FdKind.Memfd);
            tail = string.Create(CultureInfo.InvariantCulture, $",\"fd\":{fd},\"offset\":{(long)_rng.Below(8UL) * 4096}");
        }
        // The tracker cannot know whether fixed_noreplace found the range free: it keeps its belief.
        if (flags.Contains("fixed") && !flags.Contains("growsdown") && flags[0] != "shared_validate")
            _arena.Map(first, pages, prot);
        Emit($"{{\"op\":\"mmap\",\"addr\":{Addr(addr)},\"len\":{Len((ulong)pages * ArenaTracker.PageSize)},\"prot\":{Prot(prot)},\"flags\":[{string.Join(',', flags.Select(f => $"\"{f}\""))}]{tail}}}");
    }

    // mremap inside the window: shrink or grow in place, or a move (maymove+fixed, maybe dontunmap)
    // to a range of the window that does not overlap; sometimes a request the kernel refuses first.
    private void Mremap()
    {
        var (first, pages) = WindowRange(24);
        ulong addr = ArenaTracker.AddressOf(first);
        ulong oldLen = (ulong)pages * ArenaTracker.PageSize;
        int roll = _rng.Below(100);
        string flags;
        ulong newLen, newAddr = 0;
        if (roll < 35)
        {
            int newPages = 1 + _rng.Below(Math.Min(24, ArenaTracker.WindowPages - first));
            newLen = (ulong)newPages * ArenaTracker.PageSize;
            flags = "[]";
            if (newPages < pages) _arena.Unmap(first + newPages, pages - newPages);
        }
        else if (roll < 85)
        {
            bool dontUnmap = _rng.Chance(25);
            int newPages = dontUnmap ? pages : 1 + _rng.Below(24);
            int dest = _rng.Below(ArenaTracker.WindowPages - newPages);
            newLen = (ulong)newPages * ArenaTracker.PageSize;
            newAddr = ArenaTracker.AddressOf(dest);
            flags = dontUnmap ? "[\"maymove\",\"fixed\",\"dontunmap\"]" : "[\"maymove\",\"fixed\"]";
            bool overlaps = dest < first + pages && first < dest + newPages;
            if (!overlaps)
            {
                int prot = _arena.ProtOf(first);
                _arena.Map(dest, newPages, prot);
                if (!dontUnmap) _arena.Unmap(first, pages);
            }
        }
        else
        {
            newLen = _rng.Pick(new ulong[] { 0, ulong.MaxValue, 4096, ulong.MaxValue - 4095 });
            oldLen = _rng.Chance(50) ? oldLen : _rng.Pick(new ulong[] { 0, 1, ulong.MaxValue });
            if (_rng.Chance(30)) addr += 1 + _rng.Below(4095UL);
            flags = _rng.Pick(new[] { "[]", "[\"fixed\"]", "[\"dontunmap\"]", "[\"maymove\",\"fixed\",\"dontunmap\"]" });
            newAddr = ArenaTracker.AddressOf(_rng.Below(ArenaTracker.WindowPages)) + (_rng.Chance(20) ? 1UL : 0);
            if (newLen == 4096 && oldLen == 1) newLen = 8192;
        }
        string na = flags.Contains("fixed") || flags.Contains("dontunmap") ? $",\"new_addr\":{Addr(newAddr)}" : "";
        Emit($"{{\"op\":\"mremap\",\"addr\":{Addr(addr)},\"old_len\":{Len(oldLen)},\"new_len\":{Len(newLen)},\"flags\":{flags}{na}}}");
    }

    private void MadviseV2()
    {
        string advice = _rng.Pick(Advices);
        if (advice == "free")
        {
            // Only on a range believed wholly read-write, rewritten at once (see the top of the file).
            // A run of pages believed read-write, from one of them.
            int first = _arena.PickPage(_rng, Writable);
            int pages = 0;
            while (pages < 1 + _rng.Below(16) && first + pages < ArenaTracker.WindowPages && Writable(_arena.ProtOf(first + pages)))
                pages++;
            if (pages == 0)
            {
                MmRangeV2("madvise", ",\"advice\":\"cold\"");
                return;
            }
            ulong addr = ArenaTracker.AddressOf(first), len = (ulong)pages * ArenaTracker.PageSize;
            Emit($"{{\"op\":\"madvise\",\"addr\":{Addr(addr)},\"len\":{Len(len)},\"advice\":\"free\"}}");
            Emit($"{{\"op\":\"fill\",\"addr\":{Addr(addr)},\"len\":{Len(len)},\"seed\":{_rng.Below(1000UL)}}}");
            return;
        }
        MmRangeV2("madvise", $",\"advice\":\"{advice}\"");
    }

    // A range for mlock, munlock, msync, mincore and madvise: in the window, or refused before
    // acting (unaligned, wrapping, in no process's reach, empty); never one reaching past the arena.
    private void MmRangeV2(string op, string tail)
    {
        var (first, pages) = WindowRange(48);
        ulong addr = ArenaTracker.AddressOf(first);
        ulong len = (ulong)pages * ArenaTracker.PageSize;
        int roll = _rng.Below(100);
        if (roll < 8)
            addr += 1 + _rng.Below(4095UL);
        else if (roll < 12)
            len = _rng.Chance(50) ? ulong.MaxValue : ulong.MaxValue - 4095;
        else if (roll < 16)
        {
            addr = _rng.Pick(new ulong[] { 0xffff888000000000, 0x800000000000, 0x7ffffffff000 });
            len = _rng.Pick(SmallLengths);
        }
        else if (roll < 18)
        {
            addr = 0x1000 * (ulong)_rng.Below(4);
            len = 4096;
        }
        else if (roll < 21)
            len = 0;
        else
            len -= _rng.Chance(25) ? _rng.Below(4095UL) : 0;
        Emit($"{{\"op\":\"{op}\",\"addr\":{Addr(addr)},\"len\":{Len(len)}{tail}}}");
    }
}
