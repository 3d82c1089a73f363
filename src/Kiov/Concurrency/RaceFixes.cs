namespace Kiov.Concurrency;

/// <summary>The model's fixes for races it has met, each of which a test can turn off for the threads
/// of one <see cref="Controller"/> to show that the explorer finds the race without it.</summary>
[Flags]
internal enum RaceFix
{
    /// <summary>No fix.</summary>
    None = 0,

    /// <summary>do_wp_page takes a reference on the page (inside the gate, the entry re-checked) before looking at it.</summary>
    WpPageHold = 1,

    /// <summary>mmu_gather frees unlinked pages and page tables only after the walker gate's grace period.</summary>
    GateDeferredFree = 2,

    /// <summary>GUP-fast re-reads the entry (and its PMD) after its speculative reference and gives the page back if it changed.</summary>
    GupFastRecheck = 4,
}

/// <summary>Asks whether a fix is on; off only in a thread whose controller turned it off (tests).</summary>
internal static class RaceFixes
{
    /// <summary>True unless the calling thread runs under a controller that turned <paramref name="fix"/> off.</summary>
    /// <param name="fix">The fix.</param>
    public static bool On(RaceFix fix) =>
        Sched.s_attached == 0 || Sched.t_current is not { } t || (t.Controller.FixesOff & fix) == 0;
}
