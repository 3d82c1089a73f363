namespace Kiov.Trace;

/// <summary><c>pipe2(fds, O_NONBLOCK)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
public sealed record PipeOp(int Line) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys)
    {
        long ret = sys.Pipe(out int readFd, out int writeFd);
        return new(ret, Fds: (readFd, writeFd));
    }
}

/// <summary><c>memfd_create("kiov", 0)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
public sealed record MemfdOp(int Line) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Memfd());
}

/// <summary><c>ftruncate(fd, len)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Len">The new length (an <c>off_t</c>).</param>
public sealed record FtruncateOp(int Line, int Fd, long Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Ftruncate(Fd, Len));
}

/// <summary><c>close(fd)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
public sealed record CloseOp(int Line, int Fd) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Close(Fd));
}

/// <summary><c>read(fd, addr, len)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Addr">The buffer's address.</param>
/// <param name="Len">The length (a <c>size_t</c>).</param>
public sealed record ReadOp(int Line, int Fd, ulong Addr, ulong Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Read(Fd, Addr, Len));
}

/// <summary><c>write(fd, addr, len)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Addr">The buffer's address.</param>
/// <param name="Len">The length (a <c>size_t</c>).</param>
public sealed record WriteOp(int Line, int Fd, ulong Addr, ulong Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Write(Fd, Addr, Len));
}
