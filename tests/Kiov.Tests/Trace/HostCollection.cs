namespace Kiov.Tests.Trace;

/// <summary>Tests that run traces on the host back end. Each host back end has an executor
/// (kiov-exec) and an arena of its own, so they could run side by side; they run one at a time
/// to keep few executors alive at once on a small machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Host back end";
}
