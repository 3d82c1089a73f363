namespace Kiov.Trace;

/// <summary><c>pipe2(fds, O_NONBLOCK)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
internal sealed record PipeOp(int Line) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys)
    {
        long ret = sys.Pipe(out int readFd, out int writeFd);
        return new(ret, Fds: (readFd, writeFd));
    }
}

/// <summary><c>memfd_create("kiov", flags)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Flags">MFD_* flags (version 2: <c>"allow_sealing"</c>).</param>
internal sealed record MemfdOp(int Line, uint Flags = 0) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(Flags == 0 ? sys.Memfd() : sys.Memfd(Flags));
}

/// <summary><c>ftruncate(fd, len)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Len">The new length (an <c>off_t</c>).</param>
internal sealed record FtruncateOp(int Line, int Fd, long Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Ftruncate(Fd, Len));
}

/// <summary><c>close(fd)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
internal sealed record CloseOp(int Line, int Fd) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Close(Fd));
}

/// <summary><c>read(fd, addr, len)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Addr">The buffer's address.</param>
/// <param name="Len">The length (a <c>size_t</c>).</param>
internal sealed record ReadOp(int Line, int Fd, ulong Addr, ulong Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Read(Fd, Addr, Len));
}

/// <summary><c>write(fd, addr, len)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Addr">The buffer's address.</param>
/// <param name="Len">The length (a <c>size_t</c>).</param>
internal sealed record WriteOp(int Line, int Fd, ulong Addr, ulong Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Write(Fd, Addr, Len));
}

/// <summary><c>open("/proc/self/fd/&lt;fd&gt;", flags)</c>: a new open file of the same object.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Flags">O_* flags.</param>
internal sealed record ReopenOp(int Line, int Fd, int Flags) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Reopen(Fd, Flags));
}

/// <summary><c>dup(fd)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
internal sealed record DupOp(int Line, int Fd) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Dup(Fd));
}

/// <summary><c>lseek(fd, offset, whence)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Offset">The offset (an <c>off_t</c>).</param>
/// <param name="Whence">SEEK_SET (0), SEEK_CUR, SEEK_END, SEEK_DATA or SEEK_HOLE (4).</param>
internal sealed record LseekOp(int Line, int Fd, long Offset, int Whence) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Lseek(Fd, Offset, Whence));
}

/// <summary><c>fcntl(fd, cmd, arg)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Cmd">The F_* command.</param>
/// <param name="Arg">Its argument (0 when it takes none).</param>
/// <param name="Mask">What of the result the trace prints: F_GETFL's value is cut to
/// O_ACCMODE | O_APPEND | O_NONBLOCK; everything else is printed whole (-1).</param>
internal sealed record FcntlOp(int Line, int Fd, int Cmd, ulong Arg, long Mask = -1) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys)
    {
        long ret = sys.Fcntl(Fd, Cmd, Arg);
        return new(ret < 0 ? ret : ret & Mask);
    }
}

/// <summary><c>tee(fd_in, fd_out, len, SPLICE_F_NONBLOCK)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="FdIn">The trace fd read from.</param>
/// <param name="FdOut">The trace fd written to.</param>
/// <param name="Len">The length (a <c>size_t</c>).</param>
internal sealed record TeeOp(int Line, int FdIn, int FdOut, ulong Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Tee(FdIn, FdOut, Len));
}
