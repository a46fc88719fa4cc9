using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Planning;

namespace ProxyStack.Execution;

/// <summary>Removes everything labelled with a stack (StackDown, and the end of `dotnet run`). Never stops at the first error.</summary>
internal static class StackTeardown
{
    /// <summary>
    /// The end of one `dotnet run` (its runner on Ctrl-C, or its reaper once the process is gone): under the stack lock, the run
    /// leaves the registry, and the stack is removed only when no other `dotnet run` of it is still alive. Returns null when
    /// the stack was left to another run, else the teardown's failures.
    /// </summary>
    public static async Task<IReadOnlyList<Diagnostic>?> EndRunAsync(IContainerEngine engine, IStackLog log, Model.StackModel model, int? runPid, CancellationToken ct)
    {
        using var _ = await StackLock.AcquireAsync(model.Name, log, TimeSpan.FromSeconds(model.LockTimeoutSeconds), ct).ConfigureAwait(false);
        // Without the run's pid (a runner that cannot see its parent) there is nothing to leave the stack to: remove it.
        if (runPid is { } pid) RunRegistry.Unregister(model.Name, pid);
        if (runPid is { } self && RunRegistry.OthersAlive(model.Name, self) is { Count: > 0 } others)
        {
            log.Milestone($"Stack '{model.Name}' is still used by another dotnet run (pid {string.Join(", ", others)}); it stays up.");
            return null;
        }
        log.Milestone(string.Format(Strings.StackStopping, model.Name));
        return (await RunAsync(engine, log, model.Name, model.Owner, model.ProjectFile, ct).ConfigureAwait(false)).Failures;
    }

    /// <summary>
    /// Returns how many resources were removed and every failure. With <paramref name="owner"/>, only resources of that
    /// checkout are removed (a stack another checkout adopted meanwhile is left alone); null removes every owner's. The
    /// stack's volumes (its key ring) are removed only with <paramref name="removeVolumes"/>; kept ones are named, with the
    /// command that removes them, which names <paramref name="projectFile"/> where it has to (see <see cref="Model.DotnetBuildCommand"/>).
    /// </summary>
    public static async Task<(int Removed, IReadOnlyList<Diagnostic> Failures)> RunAsync(IContainerEngine engine, IStackLog log, string stack, string? owner,
        string projectFile, CancellationToken ct, bool removeVolumes = false)
    {
        var (containers, networks) = await engine.ListStackResourcesAsync(stack, [], ct).ConfigureAwait(false);
        var volumes = (await engine.ListStackVolumesAsync(stack, [], ct).ConfigureAwait(false))
            .Where(v => v.BelongsTo(stack) && (owner is null || v.Owner == owner)).ToList();
        var proxyImage = Model.StackNames.ProxyImage(stack) + ":latest";
        var proxyImageId = containers.Any(c => c.Role == StackLabels.RoleProxy) ? (await engine.InspectImageAsync(proxyImage, ct).ConfigureAwait(false))?.Id : null;
        var plan = Reconciler.PlanTeardown(stack, new ObservedState
        {
            Containers = containers.Where(c => owner is null || c.Owner == owner).ToList(),
            Networks = networks.Where(n => owner is null || n.Owner == owner).ToList(),
            Volumes = volumes,
            ImageIds = proxyImageId is { } id ? new Dictionary<string, string> { [proxyImage] = id } : new Dictionary<string, string>(),
        }, removeVolumes);
        var failures = plan.IsEmpty ? [] : await new PlanExecutor(engine, log).TeardownAsync(plan, stack, ct).ConfigureAwait(false);
        var removed = plan.Steps.Count(s => s.Kind is StepKind.RemoveContainer or StepKind.RemoveNetwork or StepKind.RemoveVolume) - failures.Count;
        log.Milestone(removed == 0 && failures.Count == 0
            ? string.Format(Strings.StackNothingToRemove, stack)
            : string.Format(Strings.StackRemoved, stack, removed));
        if (!removeVolumes && volumes.Count > 0)
            log.Milestone(string.Format(Strings.StackVolumesKept, stack, string.Join(", ", volumes.Select(v => v.Name).Order(StringComparer.Ordinal)), KeptWhat(stack, volumes),
                Model.DotnetBuildCommand.For(projectFile, "-t:StackDown -p:StackRemoveVolumes=true")));
        return (removed, failures);
    }

    /// <summary>What the kept volumes hold, only the kinds there are: "the Data Protection key rings, …", "the app's SQLite databases", "the backing containers' data".</summary>
    private static string KeptWhat(string stack, IReadOnlyList<ObservedVolume> volumes)
    {
        var kinds = new List<string>();
        if (volumes.Any(v => v.Labels.GetValueOrDefault(StackLabels.Role) == StackLabels.RoleKeys))
            kinds.Add("the Data Protection key rings, so sign-ins and forms survive the next StackUp");
        bool IsDatabase(ObservedVolume v) => v.Name.StartsWith(stack + "-", StringComparison.Ordinal) && Model.FileDatabases.IsVolumeName(v.Name[(stack.Length + 1)..]);
        if (volumes.Any(IsDatabase)) kinds.Add("the app's SQLite databases");
        if (volumes.Any(v => v.Labels.GetValueOrDefault(StackLabels.Role) == StackLabels.RoleData && !IsDatabase(v))) kinds.Add("the backing containers' data");
        return string.Join("; ", kinds);
    }
}
