using System.CommandLine;
using Kiov.Cli.Commands;

namespace Kiov.Cli;

/// <summary>The <c>kiov</c> command.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the command; every failure is one line on
    /// standard error and a non-zero exit status (<see cref="ExitCodes"/>).</summary>
    /// <param name="args">The arguments.</param>
    public static int Main(string[] args) => ExitCodes.Guard(Console.Error, () =>
    {
        var root = new RootCommand("kiov: a model of Linux's user-memory I/O layer, checked against the running kernel");
        root.Subcommands.Add(ReplayCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(FuzzCommand.Create());
        root.Subcommands.Add(LitmusCommand.Create());
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line: a word kiov does not know says more than "required command was not
            // provided", which System.CommandLine reports first for `kiov frob`; else the first.
            var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            Console.Error.WriteLine($"kiov: {error.Message}");
            return ExitCodes.BadInput;
        }
        return parse.Invoke();
    });
}
