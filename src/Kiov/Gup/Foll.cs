namespace Kiov.Gup;

/// <summary>
/// The <c>FOLL_*</c> flags of get_user_pages and pin_user_pages. The public ones carry the values of
/// the ≥6.2 enum in include/linux/mm_types.h; the internal ones (mm/internal.h) sit at higher bits and
/// may not be passed by callers (-EINVAL).
/// </summary>
[Flags]
public enum Foll : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary><c>FOLL_WRITE</c>: the caller will write the pages (breaks copy-on-write).</summary>
    Write = 1u << 0,
    /// <summary><c>FOLL_GET</c>: take a plain reference, released with <c>put_page</c>.</summary>
    Get = 1u << 1,
    /// <summary><c>FOLL_DUMP</c>: a core dump; no page for holes (not used by the model).</summary>
    Dump = 1u << 2,
    /// <summary><c>FOLL_FORCE</c>: ptrace's override of the area's read/write permission.</summary>
    Force = 1u << 3,
    /// <summary><c>FOLL_NOWAIT</c>: a fault may not wait (for a locked file page): the walk stops there, the lock kept.</summary>
    NoWait = 1u << 4,
    /// <summary><c>FOLL_NOFAULT</c>: fail with -EFAULT rather than take a fault.</summary>
    NoFault = 1u << 5,
    /// <summary><c>FOLL_HWPOISON</c>: report poisoned pages as -EHWPOISON.</summary>
    HwPoison = 1u << 6,
    /// <summary><c>FOLL_ANON</c>: anonymous areas only.</summary>
    Anon = 1u << 7,
    /// <summary><c>FOLL_LONGTERM</c>: an indefinite pin (only with FOLL_PIN).</summary>
    LongTerm = 1u << 8,
    /// <summary><c>FOLL_SPLIT_PMD</c>: split huge PMDs on the way (the model maps no huge user pages).</summary>
    SplitPmd = 1u << 9,
    /// <summary><c>FOLL_PCI_P2PDMA</c>: P2PDMA pages are acceptable.</summary>
    PciP2pDma = 1u << 10,
    /// <summary><c>FOLL_INTERRUPTIBLE</c>: a fault may be interrupted by any signal.</summary>
    Interruptible = 1u << 11,
    /// <summary><c>FOLL_HONOR_NUMA_FAULT</c>: take NUMA hinting faults instead of following PROT_NONE entries.</summary>
    HonorNumaFault = 1u << 12,

    /// <summary><c>FOLL_TOUCH</c> (internal): mark the page accessed, and dirty for a write.</summary>
    Touch = 1u << 16,
    /// <summary><c>FOLL_TRIED</c> (internal): a retry after the mmap lock was dropped.</summary>
    Tried = 1u << 17,
    /// <summary><c>FOLL_REMOTE</c> (internal): the address space is not the caller's own.</summary>
    Remote = 1u << 18,
    /// <summary><c>FOLL_PIN</c> (internal): take a pin (a bias of 1024), released with <c>unpin_user_page</c>.</summary>
    Pin = 1u << 19,
    /// <summary><c>FOLL_FAST_ONLY</c> (internal): the lockless walk only, no slow fallback.</summary>
    FastOnly = 1u << 20,
    /// <summary><c>FOLL_UNLOCKABLE</c> (internal): a fault may drop the mmap lock to wait (the *_unlocked calls, and callers passing a <c>locked</c> flag).</summary>
    Unlockable = 1u << 21,

    /// <summary>The flags a caller may not pass (<c>INTERNAL_GUP_FLAGS</c>).</summary>
    Internal = Touch | Tried | Remote | Pin | FastOnly | Unlockable,
}

/// <summary>The points of the lockless walk where a test hook runs (see <see cref="UserPages.FastStepHook"/>).</summary>
public enum GupFastStep
{
    /// <summary>The entry was read and passed its checks; no reference is held yet.</summary>
    AfterEntryRead,
    /// <summary>The speculative reference or pin was taken; the entry is not re-checked yet.</summary>
    AfterSpeculativeRef,
    /// <summary>The entry was re-read and found unchanged: the page is the caller's.</summary>
    AfterRecheck,
}
