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
        main = new Chunk();
        main.Ensure(ChunkPages * PageSize, memory);
    }

    /// <summary>One buffer: its pages, allocated as they are first needed (a par line of many threads
    /// that fill a page each does not take a MiB per thread), and the same as a bio_vec array for an iterator.</summary>
    public sealed class Chunk
    {
        /// <summary>The pages; the first <see cref="Count"/> are allocated.</summary>
        public Page[] Pages { get; } = new Page[ChunkPages];

        /// <summary>Each allocated page whole, as a <see cref="BioVec"/>.</summary>
        public BioVec[] Vec { get; } = new BioVec[ChunkPages];

        /// <summary>How many pages are allocated.</summary>
        public int Count { get; private set; }

        /// <summary>Allocates pages until the first <paramref name="bytes"/> bytes have some. In a par
        /// thread the new frames are its own: no other thread ever touches them, so their points are
        /// no places to switch (<see cref="Sched.OwnFrames"/>).</summary>
        /// <param name="bytes">Bytes needed, at most a chunk.</param>
        /// <param name="memory">The machine's memory.</param>
        public void Ensure(int bytes, PhysicalMemory memory)
        {
            int want = (bytes + PageSize - 1) / PageSize;
            int first = Count;
            for (; Count < want; Count++)
            {
                Pages[Count] = memory.Alloc(PageOwner.KernelBuffer);
                Vec[Count] = new BioVec(Pages[Count], PageSize, 0);
            }
            if (Count > first && Sched.CurrentIndex >= 0)
                Sched.OwnFrames(Pages[first..Count].Select(p => (ulong)(uint)p.Pfn));
        }
    }

    /// <summary>Makes sure threads 0 to <paramref name="count"/>-1 of a par line have their buffers
    /// (their pages come as each thread first needs them).</summary>
    /// <param name="count">The line's threads.</param>
    public void ReadyThreads(int count)
    {
        while (threads.Count < count) threads.Add(new Chunk());
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
            Sched.OwnFrames(threads[i].Pages[..threads[i].Count].Select(p => (ulong)(uint)p.Pfn));
            return threads[i];
        }
    }

    /// <summary>Frees every buffer's pages.</summary>
    public void Free()
    {
        foreach (Chunk b in threads.Prepend(main))
            foreach (Page p in b.Pages[..b.Count]) memory.Put(p);
        threads.Clear();
    }
}
