namespace Kiov.Trace.Fuzz;

/// <summary>
/// What the generator believes the fuzzing window of the arena holds, page by page: a hole (after
/// a munmap) or a mapping with its prot. Never-mapped arena memory is the runner's PROT_NONE
/// reservation, so every page starts as a PROT_NONE mapping, not a hole. The belief only steers the
/// choice of addresses (valid ranges, read-only, PROT_NONE, holes); a wrong guess makes a less
/// interesting trace, never a wrong one, since the kernel is the judge.
/// </summary>
internal sealed class ArenaTracker
{
    /// <summary>The prot value that stands for a hole.</summary>
    public const int Hole = -1;

    /// <summary>The bytes in a page.</summary>
    public const ulong PageSize = 4096;

    /// <summary>Pages in the window: 2 MiB at the start of the arena. Every mapping, munmap,
    /// mprotect and madvise of a generated trace stays inside it, so any access stops at its
    /// end at the latest and no trace touches more than the window.</summary>
    public const int WindowPages = 512;

    /// <summary>The first address of the window (the arena's start).</summary>
    public const ulong WindowStart = TraceArena.Start;

    /// <summary>The first address after the window.</summary>
    public const ulong WindowEnd = WindowStart + WindowPages * PageSize;

    private readonly int[] _prot = new int[WindowPages];

    /// <summary>The prot of page <paramref name="page"/> of the window, or <see cref="Hole"/>.</summary>
    /// <param name="page">The page index in the window.</param>
    public int ProtOf(int page) => _prot[page];

    /// <summary>The address of page <paramref name="page"/> of the window.</summary>
    /// <param name="page">The page index.</param>
    public static ulong AddressOf(int page) => WindowStart + (ulong)page * PageSize;

    /// <summary>Records a mapping of <paramref name="pages"/> pages from <paramref name="first"/>.</summary>
    /// <param name="first">The first page index.</param>
    /// <param name="pages">The page count.</param>
    /// <param name="prot">PROT_* bits.</param>
    public void Map(int first, int pages, int prot) => Array.Fill(_prot, prot, first, pages);

    /// <summary>A copy of what is known (a forked child's window starts as its parent's).</summary>
    public ArenaTracker Clone()
    {
        var copy = new ArenaTracker();
        Array.Copy(_prot, copy._prot, _prot.Length);
        return copy;
    }

    /// <summary>Records a munmap.</summary>
    /// <param name="first">The first page index.</param>
    /// <param name="pages">The page count.</param>
    public void Unmap(int first, int pages) => Array.Fill(_prot, Hole, first, pages);

    /// <summary>Records an mprotect: mapped pages take the new prot, holes stay holes.</summary>
    /// <param name="first">The first page index.</param>
    /// <param name="pages">The page count.</param>
    /// <param name="prot">PROT_* bits.</param>
    public void Protect(int first, int pages, int prot)
    {
        for (int p = first; p < first + pages; p++)
        {
            if (_prot[p] != Hole)
                _prot[p] = prot;
        }
    }

    /// <summary>A random page for which <paramref name="wanted"/> holds, or any page if none does.</summary>
    /// <param name="rng">The random source.</param>
    /// <param name="wanted">The condition on the page's prot.</param>
    public int PickPage(FuzzRandom rng, Func<int, bool> wanted)
    {
        int start = rng.Below(WindowPages);
        for (int i = 0; i < WindowPages; i++)
        {
            int p = (start + i) % WindowPages;
            if (wanted(_prot[p]))
                return p;
        }
        return start;
    }
}
