namespace Kiov.Concurrency;

/// <summary>The places where the kernel can interleave two tasks, as the model marks them with
/// <see cref="Sched"/> hooks: under a <see cref="Controller"/>, each is where another thread may run.</summary>
internal enum SchedPoint : byte
{
    /// <summary>A model thread's first step, before its first operation.</summary>
    Start,

    /// <summary>Taking a lock the model holds across other points (<c>mutex_lock</c>, <c>spin_lock</c>: the pipe, file-position, file and page-cache locks).</summary>
    Lock,

    /// <summary>A blocking wait on a monitor (<c>wait_event</c>, <c>schedule()</c> in a wait loop).</summary>
    Wait,

    /// <summary><c>mmap_read_lock</c> (and its trylock).</summary>
    MmapRead,

    /// <summary><c>mmap_write_lock</c>.</summary>
    MmapWrite,

    /// <summary><c>mmap_read_unlock</c> / <c>mmap_write_unlock</c>.</summary>
    MmapUnlock,

    /// <summary>Entering the walker gate (<c>local_irq_save</c> before GUP-fast).</summary>
    GateEnter,

    /// <summary>Leaving the walker gate (<c>local_irq_restore</c>).</summary>
    GateExit,

    /// <summary>A writer waiting for the gate's walkers to leave (<c>synchronize_rcu</c>, the TLB-flush IPI).</summary>
    GateSync,

    /// <summary>A page-table entry read (<c>ptep_get_lockless</c>, <c>pmdp_get_lockless</c>).</summary>
    PteRead,

    /// <summary>A page-table entry written (<c>set_pte</c>, <c>ptep_get_and_clear</c>, a cmpxchg).</summary>
    PteWrite,

    /// <summary>A page reference or pin taken or dropped (<c>get_page</c>, <c>try_grab_folio</c>, <c>put_page</c>, <c>unpin_user_page</c>).</summary>
    PageRef,

    /// <summary>The bytes of a frame are read or written (<c>kmap_local_page</c> and the copy after it).</summary>
    PageData,

    /// <summary>A page fault begins (<c>handle_mm_fault</c>), or is retried.</summary>
    Fault,
}
