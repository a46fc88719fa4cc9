using Microsoft.Build.Framework;
using ProxyStack.Execution;
using ProxyStack.Planning;

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

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        await Engine.PingAsync(ct).ConfigureAwait(false);
        using var _ = await StackLock.AcquireAsync(StackName, StackLog, ct).ConfigureAwait(false);
        return await TeardownAsync(this, Engine, StackName, ct).ConfigureAwait(false);
    }

    /// <summary>Shared by StackDown and the end of dotnet run.</summary>
    internal static async Task<bool> TeardownAsync(StackTask task, ProxyStack.Engine.IContainerEngine engine, string stack, CancellationToken ct)
    {
        var (containers, networks) = await engine.ListStackResourcesAsync(stack, [], ct).ConfigureAwait(false);
        var observed = new ObservedState { Containers = containers, Networks = networks };
        var plan = Reconciler.PlanTeardown(stack, observed);
        var log = task.StackLog;
        var failures = new List<Diagnostics.Diagnostic>();
        if (!plan.IsEmpty)
        {
            failures.AddRange(await new PlanExecutor(engine, log).TeardownAsync(plan, stack, ct).ConfigureAwait(false));
        }
        MSBuildDiagnosticSink.Log(task.Log, failures);
        var removed = plan.Steps.Count(s => s.Kind is StepKind.RemoveContainer or StepKind.RemoveNetwork);
        log.Milestone(removed == 0
            ? string.Format(Strings.StackNothingToRemove, stack)
            : string.Format(Strings.StackRemoved, stack, removed));
        return failures.Count == 0;
    }
}
