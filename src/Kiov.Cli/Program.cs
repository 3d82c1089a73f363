using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Kiov.Cli.Commands;

namespace Kiov.Cli;

/// <summary>The <c>kiov</c> command.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the command. Every way out goes through
    /// <see cref="ExitCodes.Guard"/>: a documented status and at most one line on standard error,
    /// output errors included (standard output is flushed inside it).</summary>
    /// <param name="args">The arguments.</param>
    public static int Main(string[] args)
    {
        TextWriter stdout = StandardStreams.OpenOutput();
        // A standard error the shell closed now holds a descriptor of the runtime's own: say nothing into it.
        TextWriter stderr = StandardStreams.WasClosed(2) ? TextWriter.Null : Console.Error;
        Console.SetOut(stdout);
        Console.SetError(stderr);
        int status = ExitCodes.Guard(stderr, () =>
        {
            int result = Run(args, stdout, stderr);
            stdout.Flush();
            return result;
        });
        if (status is ExitCodes.OutputError or ExitCodes.BrokenPipe)
            Console.SetOut(TextWriter.Null); // what is left in the buffer cannot be written either
        return status;
    }

    /// <summary>The command tree: <c>kiov</c> and its subcommands, with the exit statuses in
    /// <c>--help</c>.</summary>
    public static Command CreateRoot()
    {
        var root = new Command("kiov", "kiov: a model of Linux's user-memory I/O layer, checked against the running kernel");
        var help = new HelpOption { Recursive = true };
        help.Action = new HelpWithExitStatuses((HelpAction)help.Action!);
        root.Options.Add(help);
        root.Options.Add(new VersionOption());
        root.Subcommands.Add(ReplayCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(FuzzCommand.Create());
        return root;
    }

    private static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ParseResult parse = CreateRoot().Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line: an unknown option, then a word kiov does not know, say more than "required
            // command was not provided", which System.CommandLine reports first for `kiov frob`.
            var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("unknown option", StringComparison.Ordinal))
                ?? parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal))
                ?? parse.Errors[0];
            throw new ToolInputException(error.Message);
        }
        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
    }

    /// <summary>The usual help, then the table of exit statuses.</summary>
    private sealed class HelpWithExitStatuses(HelpAction usual) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            int status = usual.Invoke(parseResult);
            parseResult.InvocationConfiguration.Output.Write(ExitCodes.Table + "\n\n");
            return status;
        }
    }
}
