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
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line: the first problem is the one to fix first.
            Console.Error.WriteLine($"kiov: {parse.Errors[0].Message}");
            return ExitCodes.BadInput;
        }
        return parse.Invoke();
    });
}
