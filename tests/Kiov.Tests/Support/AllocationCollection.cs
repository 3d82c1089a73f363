namespace Kiov.Tests.Support;

/// <summary>
/// Tests that assert a path allocates nothing, measured with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/>. They run with no other test beside them:
/// under a parallel run, state the model shares between kernels (the kernel half of the page
/// tables, the walker gate, deferred frees) can make the measured thread do work that another
/// test's activity caused, and a 1.5 KB allocation from it failed these tests about one run in four.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Allocation measurements";
}
