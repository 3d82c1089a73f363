namespace Kiov.Trace;

/// <summary>
/// The host back end's executor (kiov-exec, the host-side process) is missing, died or stopped
/// answering. Never a kernel result: <c>kiov replay</c> reports it as exit status 3 with this
/// one-line message, which says what the executor was doing.
/// </summary>
/// <param name="message">The one-line reason.</param>
internal sealed class HostExecutorException(string message) : Exception(message);
