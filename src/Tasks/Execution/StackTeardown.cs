using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Planning;

namespace ProxyStack.Execution;

/// <summary>Removes everything labelled with a stack (StackDown, and the end of `dotnet run`). Never stops at the first error.</summary>
internal static class StackTeardown
{
    /// <summary>
    /// Returns how many resources were removed and every failure. With <paramref name="owner"/>, only resources of that
    /// checkout are removed (a stack another checkout adopted meanwhile is left alone); null removes every owner's.
    /// </summary>
    public static async Task<(int Removed, IReadOnlyList<Diagnostic> Failures)> RunAsync(IContainerEngine engine, IStackLog log, string stack, string? owner, CancellationToken ct)
    {
        var (containers, networks) = await engine.ListStackResourcesAsync(stack, [], ct).ConfigureAwait(false);
        var plan = Reconciler.PlanTeardown(stack, new ObservedState
        {
            Containers = containers.Where(c => owner is null || c.Owner == owner).ToList(),
            Networks = networks.Where(n => owner is null || n.Owner == owner).ToList(),
        });
        var failures = plan.IsEmpty ? [] : await new PlanExecutor(engine, log).TeardownAsync(plan, stack, ct).ConfigureAwait(false);
        var removed = plan.Steps.Count(s => s.Kind is StepKind.RemoveContainer or StepKind.RemoveNetwork) - failures.Count;
        log.Milestone(removed == 0 && failures.Count == 0
            ? string.Format(Strings.StackNothingToRemove, stack)
            : string.Format(Strings.StackRemoved, stack, removed));
        return (removed, failures);
    }
}
