using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Planning;

namespace ProxyStack.Execution;

/// <summary>Removes everything labelled with a stack (StackDown, and the end of `dotnet run`). Never stops at the first error.</summary>
internal static class StackTeardown
{
    /// <summary>Returns how many resources were removed and every failure.</summary>
    public static async Task<(int Removed, IReadOnlyList<Diagnostic> Failures)> RunAsync(IContainerEngine engine, IStackLog log, string stack, CancellationToken ct)
    {
        var (containers, networks) = await engine.ListStackResourcesAsync(stack, [], ct).ConfigureAwait(false);
        var plan = Reconciler.PlanTeardown(stack, new ObservedState { Containers = containers, Networks = networks });
        var failures = plan.IsEmpty ? [] : await new PlanExecutor(engine, log).TeardownAsync(plan, stack, ct).ConfigureAwait(false);
        var removed = plan.Steps.Count(s => s.Kind is StepKind.RemoveContainer or StepKind.RemoveNetwork) - failures.Count;
        log.Milestone(removed == 0 && failures.Count == 0
            ? string.Format(Strings.StackNothingToRemove, stack)
            : string.Format(Strings.StackRemoved, stack, removed));
        return (removed, failures);
    }
}
