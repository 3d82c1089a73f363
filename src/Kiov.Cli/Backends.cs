using Kiov;
using Kiov.Trace;

namespace Kiov.Cli;

/// <summary>The back ends <c>kiov replay</c> can run a trace on.</summary>
internal static class Backends
{
    /// <summary>The model: Kiov's own kernel, set up as the host is where a host setting decides a
    /// result (<see cref="HostSettings"/>: the shared zero page).</summary>
    public static readonly Func<ISyscalls>? Model = () => new ModelSyscalls(HostSettings.ModelConfig());

    /// <summary>The host: the running Linux kernel, each call made in kiov-exec, a process of its own.
    /// The first one made says on standard error what the host is set up with (docs/trace-format.md "Host
    /// settings": <see cref="HostSettings.Describe"/>), once per kiov process.</summary>
    public static readonly Func<ISyscalls> Host = () =>
    {
        var host = new HostSyscalls();
        SayHostSettings();
        return host;
    };

    /// <summary>Says on standard error what the host is set up with, the first time it is called in
    /// this kiov process (for a host runner that makes its executor itself).</summary>
    public static void SayHostSettings()
    {
        if (Interlocked.Exchange(ref s_settingsSaid, 1) == 0)
            ExitCodes.Say(Console.Error, HostSettings.Describe(HostSettings.Current));
    }

    private static int s_settingsSaid;

    /// <summary>Makes the model back end.</summary>
    /// <param name="sharedZeroPage">Whether the model has the shared zero page; null to set it up as
    /// the host is (<see cref="Model"/>, which probes the host once).</param>
    /// <exception cref="BackendUnavailableException">The model is not built yet.</exception>
    public static ISyscalls CreateModel(bool? sharedZeroPage = null) =>
        sharedZeroPage is { } shared
            ? new ModelSyscalls(KernelConfig.Current with { Limits = HostSettings.Current, SharedZeroPage = shared })
            : Model?.Invoke() ?? throw new BackendUnavailableException("the model back end is not built yet");
}

/// <summary>A back end that this build of kiov cannot run (exit status 3).</summary>
/// <param name="message">The one-line reason.</param>
public sealed class BackendUnavailableException(string message) : Exception(message);

/// <summary>Bad input to the tool other than a trace line: a missing file, a wrong combination
/// of options (exit status 2).</summary>
/// <param name="message">The one-line reason.</param>
public sealed class ToolInputException(string message) : Exception(message);
