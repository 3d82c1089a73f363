using Kiov.Concurrency;
using Kiov.Iov;
using Kiov.Memory;
using static Kiov.Memory.PageGeometry;

namespace Kiov.Trace;

/// <summary>
/// The model's stand-in for the trace runner's buffers (the <c>fill</c>/<c>hash</c>/<c>poke</c>
/// chunk): kernel pages of one machine, shared by the trace's processes as kiov-exec's forks share
/// the layout. The runner's own thread has one, and each thread of a <c>par</c> line another, as
/// each of kiov-exec's thread channels has a scratch and a chunk of its own: so a fill in one thread
/// and a hash in another move their bytes concurrently, page by page, where one shared buffer would
/// make them take turns a whole call at a time.
/// </summary>
internal sealed class ModelRunnerBuffers
{
    /// <summary>Pages in one buffer: kiov-exec's CHUNK_SIZE (1 MiB).</summary>
    public const int ChunkPages = 256;

    private readonly PhysicalMemory memory;
    private readonly List<Chunk> threads = [];
    private readonly Chunk main;

    /// <summary>Allocates the runner's own buffer in <paramref name="memory"/>.</summary>
    /// <param name="memory">The machine's memory.</param>
    public ModelRunnerBuffers(PhysicalMemory memory)
    {
        this.memory = memory;
        main = Make();
    }

    /// <summary>One buffer: its pages, and the same as a bio_vec array for an iterator.</summary>
    /// <param name="Pages">The pages.</param>
    /// <param name="Vec">Each page whole, as a <see cref="BioVec"/>.</param>
    public sealed record Chunk(Page[] Pages, BioVec[] Vec);

    /// <summary>Makes sure threads 0 to <paramref name="count"/>-1 of a par line have their buffers,
    /// before the line's threads start (so that no allocation happens among their scheduling points).</summary>
    /// <param name="count">The line's threads.</param>
    public void ReadyThreads(int count)
    {
        while (threads.Count < count) threads.Add(Make());
    }

    /// <summary>The calling thread's buffer: its par thread's if it is one (and was readied), else
    /// the runner's, which threads then take turns with (lock it).</summary>
    public Chunk Current
    {
        get
        {
            int i = Sched.CurrentIndex;
            if (i < 0 || i >= threads.Count) return main;
            // No other thread ever touches these frames: their points are no places to switch.
            Sched.OwnFrames(threads[i].Pages.Select(p => (ulong)(uint)p.Pfn));
            return threads[i];
        }
    }

    private Chunk Make()
    {
        var pages = new Page[ChunkPages];
        var vec = new BioVec[ChunkPages];
        for (int i = 0; i < ChunkPages; i++)
        {
            pages[i] = memory.Alloc(PageOwner.KernelBuffer);
            vec[i] = new BioVec(pages[i], PageSize, 0);
        }
        return new Chunk(pages, vec);
    }

    /// <summary>Frees every buffer's pages.</summary>
    public void Free()
    {
        foreach (Chunk b in threads.Prepend(main))
            foreach (Page p in b.Pages) memory.Put(p);
        threads.Clear();
    }
}
