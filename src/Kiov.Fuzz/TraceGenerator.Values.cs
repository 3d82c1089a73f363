using Kiov.Iov;

namespace Kiov.Trace.Fuzz;

internal sealed partial class TraceGenerator
{
    /// <summary>Addresses outside the arena that no Linux process has mapped: low pages below
    /// mmap_min_addr (64 KiB), kernel addresses, non-canonical ones. Other addresses outside the
    /// arena are never generated, since the host runner's own memory lies there.</summary>
    public static readonly IReadOnlyList<ulong> BadAddresses =
    [
        0x0, 0x10, 0xfff, 0x1000, 0x8000, 0xfff0,
        0xffff888000000000, 0xffffffff81000000, 0xfffffffffffff000,
        0x800000000000, 0x800000001000, 0xdead000000000000,
    ];

    /// <summary>Absurd lengths: all ones, 2^63, MAX_RW_COUNT and its neighbours, 2^32.</summary>
    public static readonly IReadOnlyList<ulong> AbsurdLengths =
    [
        ulong.MaxValue, 1UL << 63, (1UL << 63) - 1, IovLimits.MaxRwCount, IovLimits.MaxRwCount + 1,
        IovLimits.MaxRwCount - 1, 1UL << 32, (1UL << 32) + 1, 0x7fffffff, 0x80000000, ulong.MaxValue - 4095,
    ];

    private static readonly ulong[] SmallLengths = [0, 1, 2, 7, 64, 511, 512, 4095, 4096, 4097, 8191, 8192, 12288];

    private static readonly ulong[] PipeLengths = [65535, 65536, 65537, 69632, 61440];

    private static bool Readable(int prot) => prot != ArenaTracker.Hole && (prot & Abi.Prot.Read) != 0;

    private static bool Writable(int prot) => prot != ArenaTracker.Hole && (prot & Abi.Prot.Write) != 0;

    /// <summary>An address for a user-memory access: mostly in the window (on a page of the kind
    /// the caller wants, at a page start, near a page end or anywhere), sometimes in the arena past
    /// the window (the PROT_NONE reservation) or one of <see cref="BadAddresses"/>.</summary>
    private ulong UserAddr(bool write)
    {
        int roll = _rng.Below(100);
        if (roll < 8)
            return _rng.Pick(BadAddresses);
        if (roll < 11)
            return ArenaTracker.WindowEnd + _rng.Below(64UL) * ArenaTracker.PageSize + Grain(_rng.Below(2UL) * _rng.Below(4096UL));
        int page;
        if (roll < 70)
            page = _arena.PickPage(_rng, write ? Writable : Readable);
        else if (roll < 80)
            page = _arena.PickPage(_rng, p => p == ArenaTracker.Hole);
        else if (roll < 88)
            page = _arena.PickPage(_rng, p => p != ArenaTracker.Hole && !(write ? Writable(p) : Readable(p)));
        else
            page = _rng.Below(ArenaTracker.WindowPages);
        ulong offset = _rng.Below(4) switch
        {
            0 or 1 => 0,
            2 => _rng.Below(4096UL),
            _ => 4096 - 1 - _rng.Below(64UL),
        };
        return ArenaTracker.AddressOf(page) + Grain(offset);
    }

    /// <summary>A length for a user-memory access: mostly small or up to a few pages, sometimes
    /// one that fills a pipe, and <paramref name="absurdPercent"/>% of the time absurd (iovec
    /// segments use fewer, since one absurd segment makes the whole list EINVAL).</summary>
    private ulong UserLen(int absurdPercent = 15)
    {
        if (_rng.Chance(absurdPercent))
            return _rng.Pick(AbsurdLengths);
        int roll = _rng.Below(100);
        if (roll < 40)
            return Grain(_rng.Pick(SmallLengths));
        if (roll < 70)
            return Grain(1 + _rng.Below(8192UL));
        if (roll < 88)
            return (1 + _rng.Below(16UL)) * ArenaTracker.PageSize - Grain(_rng.Below(2UL) * _rng.Below(100UL));
        return Grain(_rng.Pick(PipeLengths));
    }

    /// <summary>An iovec list: usually one to four segments, sometimes none, sometimes many, and
    /// rarely exactly UIO_MAXIOV or one more.</summary>
    private IoVec[] Iovecs(bool write)
    {
        int roll = _rng.Below(100);
        int count = roll switch
        {
            < 4 => 0,
            < 80 => 1 + _rng.Below(4),
            < 95 => 5 + _rng.Below(60),
            _ => IovLimits.MaxIov + _rng.Below(2),
        };
        var iov = new IoVec[count];
        bool tiny = count > 64;
        for (int i = 0; i < count; i++)
        {
            iov[i] = new IoVec(UserAddr(write), tiny && !_rng.Chance(2) ? _rng.Below(4UL) * _grain : UserLen(absurdPercent: 4));
        }
        return iov;
    }

    /// <summary>A file offset: mostly within the first pages, sometimes negative or huge.</summary>
    private long Offset()
    {
        int roll = _rng.Below(100);
        if (roll < 50)
            return (long)_rng.Below(8UL) * 4096 + (_rng.Chance(50) ? 0 : (long)Grain(_rng.Below(4096UL)));
        if (roll < 85)
            return (long)Grain(_rng.Below(70000UL));
        return _rng.Pick(new[] { -1L, -4096L, long.MaxValue, long.MaxValue - 4095, 1L << 40, 1L << 62, long.MinValue });
    }

    /// <summary>A trace fd: mostly an open one of the wanted kind, sometimes any open one, a
    /// closed one, or one never opened.</summary>
    private int Fd(params FdKind[] kinds)
    {
        int roll = _rng.Below(100);
        var fitting = _open.Where(kv => kinds.Contains(kv.Value)).Select(kv => kv.Key).ToList();
        if (roll < 80 && fitting.Count > 0)
            return _rng.Pick(fitting);
        if (roll < 90 && _open.Count > 0)
            return _rng.Pick(_open.Keys.ToList());
        if (roll < 96 && _closed.Count > 0)
            return _rng.Pick(_closed);
        return _rng.Pick(new[] { -1, 0, 1, 2, 3, 99, 1000 });
    }

    /// <summary>A page range inside the window for mm calls: [first, first + pages).</summary>
    private (int First, int Pages) WindowRange(int maxPages)
    {
        int first = _rng.Below(ArenaTracker.WindowPages);
        int pages = 1 + _rng.Below(Math.Min(maxPages, ArenaTracker.WindowPages - first));
        return (first, pages);
    }

    /// <summary><paramref name="value"/> rounded down to the trace's grain.</summary>
    private ulong Grain(ulong value) => value - value % _grain;

    private int RandomProt() => _rng.Below(8) switch
    {
        0 => Abi.Prot.None,
        1 or 2 => Abi.Prot.Read,
        3 => Abi.Prot.Read | Abi.Prot.Exec,
        _ => Abi.Prot.Read | Abi.Prot.Write,
    };
}
