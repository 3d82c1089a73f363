namespace Kiov.Tests.Trace;

/// <summary>Tests that make a <c>HostSyscalls</c>: it reserves the fixed trace arena in this
/// process, so no two may run at the same time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Host back end";
}
