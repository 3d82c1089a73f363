using Kiov.Iov;
using Kiov.Memory;
using Kiov.Mm;

namespace Kiov.Fs;

/// <summary>The access a file was opened with (<c>f_mode</c>).</summary>
[Flags]
public enum FMode
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary><c>FMODE_READ</c>.</summary>
    Read = 1 << 0,
    /// <summary><c>FMODE_WRITE</c>.</summary>
    Write = 1 << 1,
    /// <summary><c>FMODE_PREAD</c>: positioned reads allowed (not a stream).</summary>
    PRead = 1 << 2,
    /// <summary><c>FMODE_PWRITE</c>: positioned writes allowed.</summary>
    PWrite = 1 << 3,
    /// <summary><c>FMODE_CAN_READ</c>: the file has a read or read_iter operation.</summary>
    CanRead = 1 << 4,
    /// <summary><c>FMODE_CAN_WRITE</c>: the file has a write or write_iter operation.</summary>
    CanWrite = 1 << 5,
    /// <summary><c>FMODE_NOWAIT</c>: the file honours IOCB_NOWAIT (pipes do; shmem files do not), so
    /// RWF_NOWAIT is accepted.</summary>
    NoWait = 1 << 6,
}

/// <summary>The operations a file implements (the non-null members of its <c>file_operations</c>).</summary>
[Flags]
public enum FileOps
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary><c>-&gt;read</c> (a plain user pointer).</summary>
    Read = 1 << 0,
    /// <summary><c>-&gt;write</c> (a plain user pointer).</summary>
    Write = 1 << 1,
    /// <summary><c>-&gt;read_iter</c>.</summary>
    ReadIter = 1 << 2,
    /// <summary><c>-&gt;write_iter</c>.</summary>
    WriteIter = 1 << 3,
    /// <summary><c>-&gt;splice_read</c>.</summary>
    SpliceRead = 1 << 4,
    /// <summary><c>-&gt;splice_write</c>.</summary>
    SpliceWrite = 1 << 5,
    /// <summary><c>-&gt;llseek</c>.</summary>
    Llseek = 1 << 6,
}

/// <summary>Per-call flags of a read or write (<c>kiocb->ki_flags</c>).</summary>
[Flags]
public enum IocbFlags
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary><c>IOCB_NOWAIT</c>: do not block (RWF_NOWAIT, or an O_NONBLOCK file).</summary>
    NoWait = 1 << 0,
    /// <summary><c>IOCB_APPEND</c>: write at the end of the file.</summary>
    Append = 1 << 1,
}

/// <summary>
/// An open file (<c>struct file</c>): its mode, its position, a reference count, and the
/// operations its kind implements, overridden by subclasses (pipes, memfd, devices).
/// A call to an operation the file does not list in <see cref="Ops"/> is a bug.
/// </summary>
public abstract class KFile : IMappableFile
{
    private int _refs = 1;  // Interlocked
    private int _mode;      // Interlocked

    /// <summary>Opens a file with <paramref name="mode"/>.</summary>
    protected KFile(FMode mode) => _mode = (int)mode;

    /// <summary><c>f_mode</c>.</summary>
    public FMode Mode => (FMode)Volatile.Read(ref _mode);

    /// <summary><c>pipe_clear_nowait</c>: splice and vmsplice take FMODE_NOWAIT from a pipe end they
    /// use (they cannot honour it), so RWF_NOWAIT on it is EOPNOTSUPP from then on.</summary>
    public void ClearNoWait() => Interlocked.And(ref _mode, ~(int)FMode.NoWait);

    /// <summary><c>O_NONBLOCK</c> in <c>f_flags</c> (F_SETFL may change it).</summary>
    public bool NonBlock { get; set; }

    /// <summary><c>O_APPEND</c> in <c>f_flags</c> (F_SETFL may change it): every write goes to the end
    /// (<c>IOCB_APPEND</c>).</summary>
    public bool Append { get; set; }

    /// <summary><c>f_flags</c> as F_GETFL shows them, limited to O_ACCMODE, O_APPEND and O_NONBLOCK.</summary>
    public int StatusFlags =>
        ((Mode & (FMode.Read | FMode.Write)) switch { FMode.Write => OpenFlags.WrOnly, FMode.Read | FMode.Write => OpenFlags.RdWr, _ => OpenFlags.RdOnly }) |
        (Append ? OpenFlags.Append : 0) | (NonBlock ? OpenFlags.NonBlock : 0);

    /// <summary>The seals of a memfd (<c>memfd_file_seals_ptr</c>), or null for a file that cannot be sealed.</summary>
    public virtual Seals? SealBits => null;

    /// <summary>Opens the same object again with <paramref name="access"/> (FMODE_READ and/or
    /// FMODE_WRITE), as <c>open("/proc/self/fd/N")</c> does: a new open file with its own position and
    /// flags. The caller owns the reference returned.</summary>
    public virtual KFile Reopen(FMode access) => throw Missing(nameof(Reopen));

    /// <summary><c>f_pos</c>, guarded by <see cref="PosLock"/> (what <c>fdget_pos</c> takes).</summary>
    public long Pos { get; set; }

    /// <summary><c>f_pos_lock</c>.</summary>
    public object PosLock { get; } = new();

    /// <summary><c>FMODE_ATOMIC_POS</c>: <c>fdget_pos</c> takes <see cref="PosLock"/> around a call
    /// at the file position. <c>do_dentry_open</c> sets it on regular files; a file made by
    /// <c>alloc_file_pseudo</c> (a memfd) never gets it.</summary>
    internal virtual bool AtomicPos => true;

    /// <summary>The operations this file implements.</summary>
    public abstract FileOps Ops { get; }

    /// <summary>A name for messages (<c>d_path</c>).</summary>
    public abstract string Name { get; }

    /// <summary>True when the file is a pipe end (<c>get_pipe_info</c>).</summary>
    public virtual Pipe? PipeInfo => null;

    /// <summary><c>get_file</c>.</summary>
    public void Get() => Interlocked.Increment(ref _refs);

    /// <summary><c>fput</c>: the last reference releases the file.</summary>
    public void Put()
    {
        int r = Interlocked.Decrement(ref _refs);
        if (r == 0) Release();
        else if (r < 0) throw new KiovBugException($"fput of {Name} below zero");
    }

    /// <summary><c>-&gt;release</c>: the last reference is gone.</summary>
    protected virtual void Release() { }

    /// <summary><c>-&gt;read_iter</c>: reads at <paramref name="pos"/> into <paramref name="to"/>; returns bytes or -errno.</summary>
    public virtual long ReadIter(ref IovIter to, ref long pos, IocbFlags flags) => throw Missing(nameof(ReadIter));

    /// <summary><c>-&gt;write_iter</c>: writes <paramref name="from"/> at <paramref name="pos"/>; returns bytes or -errno.</summary>
    public virtual long WriteIter(ref IovIter from, ref long pos, IocbFlags flags) => throw Missing(nameof(WriteIter));

    /// <summary><c>-&gt;read</c>: reads into a user pointer (drivers without iterators).</summary>
    public virtual long Read(Process caller, ulong buf, ulong count, ref long pos) => throw Missing(nameof(Read));

    /// <summary><c>-&gt;write</c>: writes from a user pointer (drivers without iterators).</summary>
    public virtual long Write(Process caller, ulong buf, ulong count, ref long pos) => throw Missing(nameof(Write));

    /// <summary><c>-&gt;splice_read</c>: moves up to <paramref name="len"/> bytes at <paramref name="pos"/> into <paramref name="pipe"/>.</summary>
    public virtual long SpliceRead(ref long pos, Pipe pipe, ulong len) => throw Missing(nameof(SpliceRead));

    /// <summary><c>-&gt;splice_write</c>: moves up to <paramref name="len"/> bytes from <paramref name="pipe"/> to <paramref name="pos"/>.</summary>
    public virtual long SpliceWrite(Pipe pipe, ref long pos, ulong len, bool nonBlock) => throw Missing(nameof(SpliceWrite));

    /// <summary><c>do_truncate</c> for <c>ftruncate</c>: -EINVAL unless the file is a regular file.</summary>
    public virtual int Truncate(long length) => -Errno.EINVAL;

    /// <summary><c>-&gt;llseek</c>: -ESPIPE unless the file is seekable.</summary>
    public virtual long Llseek(long offset, int whence) => -Errno.ESPIPE;

    /// <summary>True when opened for reading (<c>FMODE_READ</c>).</summary>
    public bool OpenForRead => (Mode & FMode.Read) != 0;

    /// <summary>True when opened for writing (<c>FMODE_WRITE</c>).</summary>
    public bool OpenForWrite => (Mode & FMode.Write) != 0;

    /// <summary><c>-&gt;fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)</c> of pages [first, end):
    /// -EOPNOTSUPP unless the file can punch holes.</summary>
    public virtual int PunchHole(long first, long end) => -Errno.EOPNOTSUPP;

    /// <summary>True when the file's page at <paramref name="index"/> is in its page cache (<c>mincore_page</c>).</summary>
    public virtual bool IsCached(long index) => false;

    /// <summary>Reclaim of one cached page (MADV_PAGEOUT); see <see cref="IMappableFile.Reclaim"/>.</summary>
    public virtual bool Reclaim(long index, Page page, int otherRefs) => false;

    /// <summary><c>memfd_check_seals_mmap</c>: a write-sealed memfd refuses a writable shared mapping
    /// (-EPERM) and takes VM_MAYWRITE from a read-only one.</summary>
    public int CheckSealsMmap(ref VmFlags flags)
    {
        if (SealBits is not { } seals || (seals & (Seals.Write | Seals.FutureWrite)) == 0) return 0;
        if ((flags & VmFlags.Shared) == 0) return 0;
        if ((flags & VmFlags.Write) != 0) return -Errno.EPERM;
        flags &= ~VmFlags.MayWrite;
        return 0;
    }

    /// <summary>True when the file has an <c>-&gt;mmap</c> operation.</summary>
    public virtual bool HasMmap => false;

    /// <summary><c>path_noexec</c>: pipes live on pipefs, a pseudo filesystem whose superblock is
    /// SB_I_NOEXEC, so mmap(PROT_EXEC) of a pipe is EPERM before its missing mmap makes it ENODEV.</summary>
    public bool NoExec => PipeInfo != null;

    /// <summary><c>file_mmap_size_max</c>: a pipe is neither regular, block device nor socket, so
    /// its limit is ULONG_MAX and a huge offset passes file_mmap_ok (EACCES or ENODEV come next).</summary>
    public ulong MmapSizeMax => PipeInfo != null ? ulong.MaxValue : long.MaxValue;

    /// <summary>Flags the file's <c>-&gt;mmap</c> adds to a mapping (<c>VM_IO | VM_PFNMAP</c> for a device).</summary>
    public virtual VmFlags MmapFlags => VmFlags.None;

    /// <summary><c>vm_ops-&gt;fault</c>: the page at <paramref name="index"/> with a reference, or null (SIGBUS).</summary>
    public virtual Page Fault(long index) => throw Missing(nameof(Fault));

    /// <summary>True while <paramref name="page"/> is still the file's page at <paramref name="index"/>.</summary>
    public virtual bool IsCurrent(long index, Page page) => true;

    /// <summary>A mapping of the file was made: it holds a reference on the file (<c>get_file</c>).</summary>
    public virtual void OnMap(AddressSpace mm, Vma vma) => Get();

    /// <summary>A mapping of the file went away (<c>fput</c>).</summary>
    public virtual void OnUnmap(AddressSpace mm, Vma vma) => Put();

    private KiovBugException Missing(string op) => new($"{Name} has no {op} operation");
}
