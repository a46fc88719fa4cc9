using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using ProxyStack.Execution;

namespace ProxyStack.MSBuild;

/// <summary><see cref="IStackLog"/> over TaskLoggingHelper: milestones high, steps normal, engine detail low.</summary>
internal sealed class MSBuildStackLog(TaskLoggingHelper log) : IStackLog
{
    public void Milestone(string message) => log.LogMessage(MessageImportance.High, message);
    public void Step(string message) => log.LogMessage(MessageImportance.Normal, message);
    public void Detail(string message) => log.LogMessage(MessageImportance.Low, message);
    public void Warn(Diagnostics.Diagnostic warning) => MSBuildDiagnosticSink.Log(log, warning);
}
