using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using ProxyStack.Execution;

namespace ProxyStack.MSBuild;

/// <summary>
/// <see cref="IStackLog"/> over TaskLoggingHelper: milestones high, steps and progress normal, engine detail low. With
/// <paramref name="console"/> (the build of `dotnet run`, which shows no message of any importance), milestones and progress
/// lines are written to standard output as well: the task runs in `dotnet run`'s own process, whose output is the terminal.
/// </summary>
/// On a terminal they are kept for `dotnet run`'s foreground program instead (see <see cref="RunProgress"/>), in
/// <paramref name="stackDirectory"/>.
internal sealed class MSBuildStackLog(TaskLoggingHelper log, bool console = false, string? stackDirectory = null) : IStackLog
{
    private static readonly object Gate = new();

    public void Milestone(string message)
    {
        log.LogMessage(MessageImportance.High, message);
        ToConsole(message);
    }

    public void Progress(string message)
    {
        log.LogMessage(MessageImportance.Normal, message);
        ToConsole("  " + message);
    }

    private void ToConsole(string message)
    {
        if (!console) return;
        if (stackDirectory is not null && RunProgress.Deferred) RunProgress.Append(stackDirectory, message);
        else lock (Gate) Console.Out.WriteLine(message);
    }

    public void Step(string message) => log.LogMessage(MessageImportance.Normal, message);
    public void Detail(string message) => log.LogMessage(MessageImportance.Low, message);
    public void Warn(Diagnostics.Diagnostic warning) => MSBuildDiagnosticSink.Log(log, warning);
}
