namespace Kiov.Fs;

/// <summary>
/// A process's file descriptors (<c>struct files_struct</c>): the lowest free number is handed out
/// first, as POSIX and Linux require. Thread-safe.
/// </summary>
public sealed class FdTable
{
    private KFile?[] _files = new KFile?[16];  // guarded by _lock
    private readonly object _lock = new();

    /// <summary>The most descriptors a process may hold (<c>RLIMIT_NOFILE</c>'s usual soft limit).</summary>
    public const int MaxFds = 1024;

    /// <summary><c>get_unused_fd_flags</c> + <c>fd_install</c>: installs <paramref name="file"/> at the lowest
    /// free number and returns it, or -EMFILE. The table takes over the caller's reference.</summary>
    public int Install(KFile file)
    {
        lock (_lock)
        {
            int fd = Array.IndexOf(_files, null);
            if (fd < 0)
            {
                if (_files.Length >= MaxFds) return -Errno.EMFILE;
                fd = _files.Length;
                Array.Resize(ref _files, Math.Min(_files.Length * 2, MaxFds));
            }
            _files[fd] = file;
            return fd;
        }
    }

    /// <summary><c>fdget</c>: the file behind <paramref name="fd"/> with a reference the caller must
    /// drop with <see cref="KFile.Put"/>, or null (EBADF).</summary>
    public KFile? Get(int fd)
    {
        lock (_lock)
        {
            if ((uint)fd >= (uint)_files.Length) return null;
            KFile? f = _files[fd];
            f?.Get();
            return f;
        }
    }

    /// <summary><c>close_fd</c>: 0, or -EBADF when <paramref name="fd"/> is not open.</summary>
    public int Close(int fd)
    {
        KFile? f;
        lock (_lock)
        {
            if ((uint)fd >= (uint)_files.Length || _files[fd] == null) return -Errno.EBADF;
            f = _files[fd];
            _files[fd] = null;
        }
        f!.Put();
        return 0;
    }

    /// <summary>Closes every descriptor (<c>exit_files</c>).</summary>
    public void CloseAll()
    {
        KFile?[] all;
        lock (_lock) { all = _files; _files = new KFile?[16]; }
        foreach (var f in all) f?.Put();
    }

    /// <summary><c>dup_fd</c> (fork): a new table with the same numbers naming the same open files,
    /// each with a reference more.</summary>
    public FdTable Dup()
    {
        var copy = new FdTable();
        lock (_lock)
        {
            copy._files = (KFile?[])_files.Clone();
            foreach (var f in copy._files) f?.Get();
        }
        return copy;
    }

    /// <summary>How many descriptors are open.</summary>
    public int Count { get { lock (_lock) return _files.Count(f => f != null); } }
}
