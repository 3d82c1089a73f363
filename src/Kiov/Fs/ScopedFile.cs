namespace Kiov.Fs;

/// <summary>
/// A file reference taken from a descriptor for the length of a scope and released when the scope
/// ends: the model of the kernel's <c>CLASS(fd, f)(fd)</c> (include/linux/file.h), a <c>struct fd</c>
/// from <c>fdget</c> whose destructor runs <c>fdput</c>. A system call says
/// <c>using ScopedFile f = ScopedFile.Get(p, fd);</c> and then <c>if (f.File is not { } file) return
/// -Errno.EBADF;</c> (<c>fd_empty</c>), so its early returns need no <c>finally</c>. A ref struct:
/// taking one allocates nothing, and it cannot outlive the call that took it.
/// </summary>
internal readonly ref struct ScopedFile
{
    private ScopedFile(KFile? file) => File = file;

    /// <summary><c>fd_file</c>: the open file, holding a reference of its own; null when the
    /// descriptor was not open (<c>fd_empty</c>).</summary>
    public KFile? File { get; }

    /// <summary><c>fdget(fd)</c>: a reference to the file open at <paramref name="fd"/> in
    /// <paramref name="p"/>'s descriptor table, or none.</summary>
    public static ScopedFile Get(Process p, int fd) => new(p.Files.Get(fd));

    /// <summary><c>fdput</c>: drops the reference, at the end of the scope of the <c>using</c>.</summary>
    public void Dispose() => File?.Put();
}
