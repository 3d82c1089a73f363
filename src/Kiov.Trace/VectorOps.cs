using Kiov.Iov;
namespace Kiov.Trace;

/// <summary><c>readv(fd, iov, n)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Iov">The iovec list.</param>
internal sealed record ReadvOp(int Line, int Fd, IoVec[] Iov) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Readv(Fd, Iov));
}

/// <summary><c>writev(fd, iov, n)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Iov">The iovec list.</param>
internal sealed record WritevOp(int Line, int Fd, IoVec[] Iov) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Writev(Fd, Iov));
}

/// <summary><c>preadv(fd, iov, n, offset)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Iov">The iovec list.</param>
/// <param name="Offset">The file offset (an <c>off_t</c>).</param>
internal sealed record PreadvOp(int Line, int Fd, IoVec[] Iov, long Offset) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Preadv(Fd, Iov, Offset));
}

/// <summary><c>pwritev(fd, iov, n, offset)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Iov">The iovec list.</param>
/// <param name="Offset">The file offset (an <c>off_t</c>).</param>
internal sealed record PwritevOp(int Line, int Fd, IoVec[] Iov, long Offset) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Pwritev(Fd, Iov, Offset));
}

/// <summary><c>process_vm_readv(self, local, remote, 0)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Local">Where the bytes go.</param>
/// <param name="Remote">Where they come from.</param>
internal sealed record ProcessVmReadvOp(int Line, IoVec[] Local, IoVec[] Remote) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.ProcessVmReadv(Local, Remote));
}

/// <summary><c>process_vm_writev(self, local, remote, 0)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Local">Where the bytes come from.</param>
/// <param name="Remote">Where they go.</param>
internal sealed record ProcessVmWritevOp(int Line, IoVec[] Local, IoVec[] Remote) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.ProcessVmWritev(Local, Remote));
}

/// <summary><c>vmsplice(fd, iov, n, SPLICE_F_NONBLOCK)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Iov">The iovec list.</param>
internal sealed record VmspliceOp(int Line, int Fd, IoVec[] Iov) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Vmsplice(Fd, Iov));
}

/// <summary><c>splice(fd_in, off_in, fd_out, off_out, len, SPLICE_F_NONBLOCK)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="FdIn">The trace fd read from.</param>
/// <param name="OffIn">The input offset, or null for NULL.</param>
/// <param name="FdOut">The trace fd written to.</param>
/// <param name="OffOut">The output offset, or null for NULL.</param>
/// <param name="Len">The length (a <c>size_t</c>).</param>
internal sealed record SpliceOp(int Line, int FdIn, long? OffIn, int FdOut, long? OffOut, ulong Len) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Splice(FdIn, OffIn, FdOut, OffOut, Len));
}

/// <summary><c>preadv2(fd, iov, n, offset, flags)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Iov">The iovec list.</param>
/// <param name="Offset">The file offset; -1 uses the file position.</param>
/// <param name="Flags">RWF_* flags.</param>
internal sealed record Preadv2Op(int Line, int Fd, IoVec[] Iov, long Offset, int Flags) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Preadv2(Fd, Iov, Offset, Flags));
}

/// <summary><c>pwritev2(fd, iov, n, offset, flags)</c>.</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="Iov">The iovec list.</param>
/// <param name="Offset">The file offset; -1 uses the file position.</param>
/// <param name="Flags">RWF_* flags.</param>
internal sealed record Pwritev2Op(int Line, int Fd, IoVec[] Iov, long Offset, int Flags) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.Pwritev2(Fd, Iov, Offset, Flags));
}

/// <summary>A vectored call with its iovec array in user memory (<c>iov_addr</c>, <c>iovcnt</c>).</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Call">Which call.</param>
/// <param name="Fd">The trace fd.</param>
/// <param name="IovAddr">The array's address.</param>
/// <param name="IovCnt">Its count, as the call's register carries it.</param>
/// <param name="Offset">The file offset, for the calls that take one.</param>
/// <param name="Flags">RWF_* flags, for preadv2 and pwritev2.</param>
internal sealed record VectorAtOp(int Line, VectorCall Call, int Fd, ulong IovAddr, ulong IovCnt, long Offset, int Flags) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.VectorAt(Call, Fd, IovAddr, IovCnt, Offset, Flags));
}

/// <summary><c>process_vm_readv</c>/<c>_writev</c> on the process itself with both iovec arrays in
/// user memory (<c>local_addr</c>, <c>local_cnt</c>, <c>remote_addr</c>, <c>remote_cnt</c>).</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Write">True for process_vm_writev.</param>
/// <param name="LocalAddr">The local array's address.</param>
/// <param name="LocalCnt">Its count.</param>
/// <param name="RemoteAddr">The remote array's address.</param>
/// <param name="RemoteCnt">Its count.</param>
internal sealed record ProcessVmAtOp(int Line, bool Write, ulong LocalAddr, ulong LocalCnt, ulong RemoteAddr, ulong RemoteCnt) : TraceOp(Line)
{
    /// <inheritdoc/>
    public override TraceResult Run(ISyscalls sys) => new(sys.ProcessVmAt(Write, LocalAddr, LocalCnt, RemoteAddr, RemoteCnt));
}
