using Kiov.Memory;

namespace Kiov.Mm;

/// <summary>The flags of a mapping (<c>vm_flags</c>, include/linux/mm.h values).</summary>
[Flags]
public enum VmFlags : ulong
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary><c>VM_READ</c>.</summary>
    Read = 0x1,
    /// <summary><c>VM_WRITE</c>.</summary>
    Write = 0x2,
    /// <summary><c>VM_EXEC</c>.</summary>
    Exec = 0x4,
    /// <summary><c>VM_SHARED</c>.</summary>
    Shared = 0x8,
    /// <summary><c>VM_MAYREAD</c>.</summary>
    MayRead = 0x10,
    /// <summary><c>VM_MAYWRITE</c>.</summary>
    MayWrite = 0x20,
    /// <summary><c>VM_MAYEXEC</c>.</summary>
    MayExec = 0x40,
    /// <summary><c>VM_MAYSHARE</c>.</summary>
    MayShare = 0x80,
    /// <summary><c>VM_GROWSDOWN</c>: a stack that grows down on faults below it.</summary>
    GrowsDown = 0x100,
    /// <summary><c>VM_PFNMAP</c>: raw frames with no <c>struct page</c> semantics.</summary>
    PfnMap = 0x400,
    /// <summary><c>VM_LOCKED</c>.</summary>
    Locked = 0x2000,
    /// <summary><c>VM_IO</c>: memory-mapped I/O; GUP refuses it.</summary>
    Io = 0x4000,
    /// <summary><c>VM_SEQ_READ</c> (MADV_SEQUENTIAL).</summary>
    SeqRead = 0x8000,
    /// <summary><c>VM_RAND_READ</c> (MADV_RANDOM).</summary>
    RandRead = 0x10000,
    /// <summary><c>VM_DONTCOPY</c> (MADV_DONTFORK).</summary>
    DontCopy = 0x20000,
    /// <summary><c>VM_DONTEXPAND</c>: mremap may not grow it.</summary>
    DontExpand = 0x40000,
    /// <summary><c>VM_ACCOUNT</c>: charged to the commit limit (private writable memory).</summary>
    Account = 0x100000,
    /// <summary><c>VM_NORESERVE</c> (MAP_NORESERVE).</summary>
    NoReserve = 0x200000,
    /// <summary><c>VM_WIPEONFORK</c> (MADV_WIPEONFORK).</summary>
    WipeOnFork = 0x2000000,
    /// <summary>The access bits.</summary>
    AccessMask = Read | Write | Exec,
}

/// <summary>
/// A virtual memory area (<c>struct vm_area_struct</c>): [Start, End) with flags and, for a file
/// mapping, the file and the page offset of Start. Fields change only under the mmap write lock
/// and are read under the read lock.
/// </summary>
public sealed class Vma
{
    /// <summary>Creates an area.</summary>
    public Vma(ulong start, ulong end, VmFlags flags, IMappableFile? file, long pgoff)
    {
        Start = start; End = end; Flags = flags; File = file; PgOff = pgoff;
    }

    /// <summary><c>vm_start</c>.</summary>
    public ulong Start { get; internal set; }
    /// <summary><c>vm_end</c> (exclusive).</summary>
    public ulong End { get; internal set; }
    /// <summary><c>vm_flags</c>.</summary>
    public VmFlags Flags { get; internal set; }
    /// <summary><c>vm_file</c>; null for private anonymous memory.</summary>
    public IMappableFile? File { get; }
    /// <summary><c>vm_pgoff</c>: the file page that <see cref="Start"/> maps; for private anonymous
    /// memory, the page number of the address it was first mapped at.</summary>
    public long PgOff { get; internal set; }

    /// <summary><c>vm_anon_vma</c>: the identity of the anonymous pages this area holds, given at its
    /// first anonymous fault (possibly shared with a neighbour it could merge with); areas with
    /// different ones never merge. Null while it has none. Set under the mmap lock (read, with
    /// an atomic exchange) or write.</summary>
    public object? AnonVma;

    /// <summary><c>vma_is_fork_child</c>: the area's anon_vma came to it by fork (its anon_vma_chain
    /// also links the parent's), so its pages may be shared with another process. Such an area
    /// never merges with a neighbour that has no anon_vma. Set by fork, kept by splits, moves and
    /// merges that keep its anon_vma; under the mmap write lock.</summary>
    internal bool ForkChild;

    /// <summary>True for private anonymous memory (<c>vma_is_anonymous</c>).</summary>
    public bool IsAnonymous => File == null;
    /// <summary>True for a shared mapping.</summary>
    public bool IsShared => (Flags & VmFlags.Shared) != 0;
    /// <summary><c>is_cow_mapping</c>: private and possibly writable.</summary>
    public bool IsCowMapping => (Flags & (VmFlags.Shared | VmFlags.MayWrite)) == VmFlags.MayWrite;
    /// <summary>The file page index that <paramref name="addr"/> maps (<c>linear_page_index</c>).</summary>
    public long PageIndex(ulong addr) => PgOff + (long)((addr - Start) >> PageGeometry.PageShift);
    /// <summary>True when <paramref name="addr"/> lies inside.</summary>
    public bool Contains(ulong addr) => addr >= Start && addr < End;

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Start:x}-{End:x} {((Flags & VmFlags.Read) != 0 ? 'r' : '-')}{((Flags & VmFlags.Write) != 0 ? 'w' : '-')}{((Flags & VmFlags.Exec) != 0 ? 'x' : '-')}{(IsShared ? 's' : 'p')} {PgOff << 12:x8} {File?.Name ?? ""}";
}

/// <summary>
/// What a file offers the memory manager to be mapped (<c>file->f_op->mmap</c> and
/// <c>vm_ops->fault</c>). The file layer implements it for memfd and devices.
/// </summary>
public interface IMappableFile
{
    /// <summary>A name for /proc/self/maps-style listings.</summary>
    string Name { get; }

    /// <summary>True when the file was opened for reading (<c>FMODE_READ</c>): every mapping needs it.</summary>
    bool OpenForRead { get; }

    /// <summary>True when the file was opened for writing (<c>FMODE_WRITE</c>), so a shared mapping may be writable.</summary>
    bool OpenForWrite { get; }

    /// <summary>True when the file can be mapped at all (<c>file->f_op->mmap</c>); else mmap gives ENODEV.</summary>
    bool HasMmap { get; }

    /// <summary>True when the file lies on a noexec mount or a pseudo filesystem (<c>path_noexec</c>):
    /// an executable mapping of it is EPERM, checked before <see cref="HasMmap"/>.</summary>
    bool NoExec => false;

    /// <summary><c>file_mmap_size_max</c>: how far into the file a mapping may reach. MAX_LFS_FILESIZE
    /// (LLONG_MAX) for regular files, ULONG_MAX for anything else (a pipe), 0 for no limit.</summary>
    ulong MmapSizeMax => long.MaxValue;

    /// <summary>Extra flags the file's mmap adds (<c>VM_IO | VM_PFNMAP</c> for a device).</summary>
    VmFlags MmapFlags { get; }

    /// <summary><c>memfd_check_seals_mmap</c>: -EPERM for a mapping the file's seals forbid; may take
    /// VM_MAYWRITE away. 0 for a file without seals.</summary>
    int CheckSealsMmap(ref VmFlags flags) => 0;

    /// <summary><c>vfs_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)</c> of pages [first, end)
    /// (MADV_REMOVE): 0 or -errno; -EOPNOTSUPP for a file that cannot punch holes. Called without the mmap lock.</summary>
    int PunchHole(long first, long end) => -Errno.EOPNOTSUPP;

    /// <summary>True when the file's page at <paramref name="index"/> is in its page cache (<c>mincore_page</c>).</summary>
    bool IsCached(long index) => false;

    /// <summary>Reclaim of one page (MADV_PAGEOUT): drops <paramref name="page"/> from the file's cache
    /// when it is still its page at <paramref name="index"/>, clean, and held by nothing beyond the
    /// cache and <paramref name="otherRefs"/> references the caller accounts for. Without swap only a
    /// clean shmem page (a hole a read fault filled with zeros) can go, and reads back the same.</summary>
    bool Reclaim(long index, Page page, int otherRefs) => false;

    /// <summary>The file's page at <paramref name="index"/> with a reference taken for the caller
    /// (<c>filemap_fault</c>), or <see cref="Page.Null"/> beyond the end of the file (SIGBUS).</summary>
    Page Fault(long index);

    /// <summary>True while <paramref name="page"/> is still the file's page at <paramref name="index"/>
    /// (what the kernel checks under the folio lock: <c>folio-&gt;mapping</c> unchanged). A fault that
    /// installed a page truncation has since dropped takes it back out and retries.</summary>
    bool IsCurrent(long index, Page page) => true;

    /// <summary>A mapping of the file was created, or split off another (<c>get_file</c> and
    /// <c>vma_interval_tree_insert</c>: the file's reverse map). Called under <paramref name="mm"/>'s
    /// mmap write lock, after <paramref name="vma"/> is in its tree.</summary>
    void OnMap(AddressSpace mm, Vma vma);

    /// <summary>A mapping of the file went away (<c>fput</c>, <c>vma_interval_tree_remove</c>).
    /// Called under <paramref name="mm"/>'s mmap write lock.</summary>
    void OnUnmap(AddressSpace mm, Vma vma);
}
