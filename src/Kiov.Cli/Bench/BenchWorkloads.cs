namespace Kiov.Cli.Bench;

/// <summary>A workload timed on the model, on the host kernel and as plain memcpy, at each segment size.</summary>
/// <param name="Name">What a round does, as the table names it.</param>
/// <param name="Model">Sets up the model side for a segment size.</param>
/// <param name="Host">Sets up the host side.</param>
/// <param name="CopiesPerRound">How many times a round copies its bytes (the memcpy side copies them as often).</param>
internal sealed record ThroughputWorkload(string Name, Func<int, IBenchRound> Model, Func<int, IBenchRound> Host, int CopiesPerRound);

/// <summary>A model-only workload over pages: each round takes and releases 1024 pages in calls of a given size.</summary>
/// <param name="Name">The calls, as the table names them.</param>
/// <param name="Pin">True for pin_user_pages_fast + unpin_user_pages, false for get_user_pages_fast + put_page.</param>
internal sealed record PagesWorkload(string Name, bool Pin);

/// <summary>What <c>kiov bench</c> times.</summary>
internal static class BenchWorkloads
{
    /// <summary>The segment sizes (bytes per call, in one segment).</summary>
    public static readonly int[] SegmentSizes = [512, 4 << 10, 64 << 10, 1 << 20];

    /// <summary>Pages per call of the page workloads.</summary>
    public static readonly int[] PagesPerCall = [1, 16, 1024];

    /// <summary>The throughput workloads.</summary>
    public static IReadOnlyList<ThroughputWorkload> Throughput { get; } =
    [
        new("pipe: writev + readv", size => new ModelPipeRound(size), size => new HostPipeRound(size), 2),
        new("memfd: pwritev + preadv", size => new ModelMemfdRound(size), size => new HostMemfdRound(size), 2),
        new("process_vm_readv (self)", size => new ModelProcessVmRound(size), size => new HostProcessVmRound(size), 1),
    ];

    /// <summary>The page workloads.</summary>
    public static IReadOnlyList<PagesWorkload> Pages { get; } =
    [
        new("pin_user_pages_fast + unpin_user_pages", Pin: true),
        new("get_user_pages_fast + put_page", Pin: false),
    ];
}
