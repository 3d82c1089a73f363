namespace Kiov.Abi;

/// <summary><c>MADV_*</c>: the advice of madvise, from include/uapi/asm-generic/mman-common.h.</summary>
public static class Madv
{
    /// <summary><c>MADV_NORMAL</c> = 0.</summary>
    public const int Normal = 0;
    /// <summary><c>MADV_RANDOM</c> = 1.</summary>
    public const int Random = 1;
    /// <summary><c>MADV_SEQUENTIAL</c> = 2.</summary>
    public const int Sequential = 2;
    /// <summary><c>MADV_WILLNEED</c> = 3.</summary>
    public const int WillNeed = 3;
    /// <summary><c>MADV_DONTNEED</c> = 4: drop the pages; private anonymous memory reads back as zeros.</summary>
    public const int DontNeed = 4;
    /// <summary><c>MADV_FREE</c> = 8: private anonymous pages may be reclaimed without swap until written again.</summary>
    public const int Free = 8;
    /// <summary><c>MADV_REMOVE</c> = 9: punch a hole in the file behind a shared mapping.</summary>
    public const int Remove = 9;
    /// <summary><c>MADV_DONTFORK</c> = 10.</summary>
    public const int DontFork = 10;
    /// <summary><c>MADV_DOFORK</c> = 11.</summary>
    public const int DoFork = 11;
    /// <summary><c>MADV_MERGEABLE</c> = 12 (KSM).</summary>
    public const int Mergeable = 12;
    /// <summary><c>MADV_UNMERGEABLE</c> = 13 (KSM).</summary>
    public const int Unmergeable = 13;
    /// <summary><c>MADV_HUGEPAGE</c> = 14.</summary>
    public const int HugePage = 14;
    /// <summary><c>MADV_NOHUGEPAGE</c> = 15.</summary>
    public const int NoHugePage = 15;
    /// <summary><c>MADV_DONTDUMP</c> = 16.</summary>
    public const int DontDump = 16;
    /// <summary><c>MADV_DODUMP</c> = 17.</summary>
    public const int DoDump = 17;
    /// <summary><c>MADV_WIPEONFORK</c> = 18.</summary>
    public const int WipeOnFork = 18;
    /// <summary><c>MADV_KEEPONFORK</c> = 19.</summary>
    public const int KeepOnFork = 19;
    /// <summary><c>MADV_COLD</c> = 20: deactivate the pages.</summary>
    public const int Cold = 20;
    /// <summary><c>MADV_PAGEOUT</c> = 21: reclaim the pages.</summary>
    public const int PageOut = 21;
    /// <summary><c>MADV_POPULATE_READ</c> = 22.</summary>
    public const int PopulateRead = 22;
    /// <summary><c>MADV_POPULATE_WRITE</c> = 23.</summary>
    public const int PopulateWrite = 23;
    /// <summary><c>MADV_DONTNEED_LOCKED</c> = 24.</summary>
    public const int DontNeedLocked = 24;
    /// <summary><c>MADV_COLLAPSE</c> = 25.</summary>
    public const int Collapse = 25;
    /// <summary><c>MADV_GUARD_INSTALL</c> = 102.</summary>
    public const int GuardInstall = 102;
    /// <summary><c>MADV_GUARD_REMOVE</c> = 103.</summary>
    public const int GuardRemove = 103;
}
