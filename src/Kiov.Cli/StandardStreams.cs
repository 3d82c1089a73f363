using System.Runtime.InteropServices;
using System.Text;

namespace Kiov.Cli;

/// <summary>
/// kiov's standard streams, opened on the file descriptors themselves rather than through
/// <see cref="Console"/>: the console streams drop EPIPE silently (so <c>kiov replay | head</c>
/// would run the whole trace for nobody), and a descriptor the shell closed (<c>&lt;&amp;-</c>) is
/// reused by the runtime for a pipe of its own, which reading would wait on forever.
/// </summary>
public static partial class StandardStreams
{
    /// <summary>Whether descriptor <paramref name="fd"/> (0, 1 or 2) was closed when kiov started.
    /// A descriptor inherited across <c>exec</c> cannot carry close-on-exec, while every descriptor
    /// the runtime opens does: so a standard descriptor that is missing or close-on-exec was closed
    /// by whoever started kiov, and what is there now is not the user's.</summary>
    /// <param name="fd">0, 1 or 2.</param>
    public static bool WasClosed(int fd)
    {
        int flags = Fcntl(fd, Abi.Fcntl.GetFd);
        return flags < 0 || (flags & FdFlags.CloExec) != 0;
    }

    /// <summary>Standard input as a stream; an error if the shell closed it.</summary>
    /// <exception cref="ToolInputException">Standard input was closed.</exception>
    public static Stream OpenInput() =>
        WasClosed(0)
            ? throw new ToolInputException("standard input is closed")
            : new DescriptorStream(0);

    /// <summary>Standard output as a buffered writer (UTF-8, no BOM) whose errors are
    /// <see cref="OutputException"/>s; nothing is written until it is flushed or its buffer fills.
    /// If the shell closed standard output, every write is an output error.</summary>
    public static TextWriter OpenOutput()
    {
        Stream stream = WasClosed(1)
            ? new OutputGuardStream(null, "standard output")
            : new OutputGuardStream(new DescriptorStream(1), "standard output");
        return new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024) { AutoFlush = false };
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd);
}

/// <summary>A standard descriptor as a stream, read and written with <c>read(2)</c> and
/// <c>write(2)</c> at the descriptor's own offset (a <see cref="FileStream"/> keeps an offset of its
/// own and writes with <c>pwrite</c>, which would overwrite what others write to the same file).
/// An error is an <see cref="IOException"/> whose <see cref="Exception.HResult"/> is the errno.</summary>
/// <param name="fd">The descriptor; never closed here.</param>
internal sealed unsafe partial class DescriptorStream(int fd) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = SysRead(fd, p, (nuint)buffer.Length);
                if (n >= 0)
                    return (int)n;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                    throw Error(errno);
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            byte* p = start;
            nuint left = (nuint)buffer.Length;
            while (left > 0)
            {
                nint n = SysWrite(fd, p, left);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                        continue;
                    throw Error(errno);
                }
                p += n;
                left -= (nuint)n;
            }
        }
    }

    public override void Flush()
    {
    }

    private static IOException Error(int errno) =>
        new(Marshal.GetPInvokeErrorMessage(errno), errno);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint SysRead(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint SysWrite(int fd, byte* buffer, nuint count);
}

/// <summary>Writing kiov's output failed (standard output, or a file under <c>fuzz --out</c>):
/// not a bug in kiov, exit status 74, or a quiet 141 for EPIPE.</summary>
public sealed class OutputException : IOException
{
    /// <summary>Wraps the error <paramref name="inner"/> from writing <paramref name="what"/>.</summary>
    /// <param name="what">What was being written (<c>standard output</c>, a path).</param>
    /// <param name="inner">The error; its <see cref="Exception.HResult"/> is the errno on Linux.</param>
    public OutputException(string what, Exception inner)
        : base($"cannot write {what}: {inner.Message}", inner)
    {
        IsBrokenPipe = inner.HResult == Errno.EPIPE;
    }

    /// <summary>Wraps a failure described by <paramref name="message"/>.</summary>
    /// <param name="message">The whole message.</param>
    public OutputException(string message)
        : base(message)
    {
    }

    /// <summary>Whether the reader of a pipe went away (EPIPE).</summary>
    public bool IsBrokenPipe { get; }
}

/// <summary>A write-only stream that turns the <see cref="IOException"/>s of the stream it
/// wraps into <see cref="OutputException"/>s; with no inner stream, every write fails.</summary>
/// <param name="inner">The stream written, or null when the descriptor was closed.</param>
/// <param name="what">What it is, for messages.</param>
internal sealed class OutputGuardStream(Stream? inner, string what) : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => Guarded(() => inner?.Flush());

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (inner is null)
            throw new OutputException($"cannot write {what}: it is closed");
        try
        {
            inner.Write(buffer);
        }
        catch (IOException e) when (e is not OutputException)
        {
            throw new OutputException(what, e);
        }
    }

    private void Guarded(Action action)
    {
        try
        {
            action();
        }
        catch (IOException e) when (e is not OutputException)
        {
            throw new OutputException(what, e);
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner?.Dispose();
        base.Dispose(disposing);
    }
}
