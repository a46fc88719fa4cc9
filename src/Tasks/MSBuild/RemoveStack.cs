using Microsoft.Build.Framework;
using ProxyStack.Execution;

namespace ProxyStack.MSBuild;

/// <summary>
/// Removes every container and network labelled with the stack, proxy first. Images stay, so the next bring-up is fast.
/// Finds resources by label only, so it can never remove anything it did not create. Succeeds when there is nothing to remove.
/// </summary>
public sealed class RemoveStack : StackTask
{
    /// <summary>The normalized stack name. Example: hellostack</summary>
    [Required] public string StackName { get; set; } = "";

    private protected override string CancelledStackName => StackName;

    private protected override string ProfileLabel => "teardown";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        await Engine.PingAsync(ct).ConfigureAwait(false);
        using var _ = await StackLock.AcquireAsync(StackName, StackLog, ct).ConfigureAwait(false);
        var (_, failures) = await StackTeardown.RunAsync(Engine, StackLog, StackName, ct).ConfigureAwait(false);
        MSBuildDiagnosticSink.Log(Log, failures);
        return failures.Count == 0;
    }
}
