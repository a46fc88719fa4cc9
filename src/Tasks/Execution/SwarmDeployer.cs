using System.Text;
using Docker.DotNet.Models;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Manifests;
using ProxyStack.Model;
using ProxyStack.Planning;

namespace ProxyStack.Execution;

/// <summary>
/// Deploys a stack to the swarm its engine manages and removes it (Engine API services, never the CLI): creates or updates
/// each service in start order and waits for Swarm to converge — an update rolls start-first and rolls back on failure —
/// rotates nginx's config object, and removes what the stack no longer has. Only what carries the stack's swarm label is
/// touched; a service or network of the same name without it stops the deploy before anything changes.
/// </summary>
internal sealed class SwarmDeployer(DockerEngine engine, IStackLog log)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    /// <summary>Coded diagnostics when the deploy cannot start or a service does not converge; empty on success.</summary>
    public async Task<IReadOnlyList<Diagnostic>> DeployAsync(StackModel published, IReadOnlyList<Workload> workloads, string config, IReadOnlySet<string> imagesWithoutShell, CancellationToken ct)
    {
        var ours = (await engine.ListServicesAsync(SwarmServices.StackLabel, published.Name, ct).ConfigureAwait(false)).ToDictionary(NameOf, StringComparer.Ordinal);
        // Before any change: a service of ours by name that is not ours, or the stack of another checkout.
        foreach (var w in workloads)
        {
            var name = SwarmServices.ServiceName(published, w.Name);
            if (!ours.ContainsKey(name) && await engine.InspectServiceAsync(name, ct).ConfigureAwait(false) is not null)
                return [Diagnostic.Error(nameof(Strings.ForeignService), name, published.Name)];
        }
        if (!published.Adopt && OtherOwner(ours.Values, published.Owner) is { } owner)
            return [Diagnostic.Error(nameof(Strings.StackOwnedElsewhere), published.Name, owner, published.Owner)];
        var network = SwarmServices.NetworkName(published);
        if (await engine.EnsureOverlayNetworkAsync(network, SwarmServices.Labels(published, StackLabels.RoleNetwork), SwarmServices.StackLabel, ct).ConfigureAwait(false) is null)
            return [Diagnostic.Error(nameof(Strings.ForeignNetwork), network, published.Name)];

        var configName = SwarmServices.ConfigName(published, config);
        var configs = await engine.ListConfigsAsync(SwarmServices.StackLabel, published.Name, ct).ConfigureAwait(false);
        var configId = configs.FirstOrDefault(c => c.Spec?.Name == configName)?.ID
            ?? await engine.CreateConfigAsync(new SwarmConfigSpec { Name = configName, Labels = SwarmServices.Labels(published, StackLabels.RoleProxy), Data = Encoding.UTF8.GetBytes(config) }, ct).ConfigureAwait(false);

        foreach (var spec in SwarmServices.Specs(published, workloads, configId, configName, imagesWithoutShell))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // A global service (nginx) runs one task per node: as many as Swarm schedules.
            int? replicas = spec.Mode!.Replicated is { } replicated ? (int)(replicated.Replicas ?? 1) : null;
            var name = spec.Name!;
            if (ours.TryGetValue(name, out var current))
            {
                if (current.Spec?.Labels is { } labels && labels.TryGetValue(SwarmServices.SpecHashLabel, out var hash) && hash == spec.Labels![SwarmServices.SpecHashLabel])
                {
                    log.Progress($"{spec.Name} up to date");
                    continue;
                }
                await engine.UpdateServiceAsync(current, spec, ct).ConfigureAwait(false);
                if (await ConvergeAsync(name, replicas, updated: true, published.ReadyTimeoutSeconds, ct).ConfigureAwait(false) is { } failed) return [failed];
                log.Progress($"{spec.Name} updated ({clock.Elapsed.TotalSeconds:0.0} s)");
            }
            else
            {
                await engine.CreateServiceAsync(spec, ct).ConfigureAwait(false);
                if (await ConvergeAsync(name, replicas, updated: false, published.ReadyTimeoutSeconds, ct).ConfigureAwait(false) is { } failed) return [failed];
                log.Progress($"{spec.Name} created ({clock.Elapsed.TotalSeconds:0.0} s)");
            }
        }

        // What the stack no longer has (a StackProject or StackContainer removed from the project), then old nginx configs.
        var wanted = workloads.Select(w => SwarmServices.ServiceName(published, w.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in ours.Keys.Where(n => !wanted.Contains(n)))
        {
            await engine.RemoveServiceAsync(gone, ct).ConfigureAwait(false);
            log.Progress($"{gone} removed (no longer part of the stack)");
        }
        foreach (var old in configs.Where(c => c.ID != configId))
            await engine.RemoveConfigAsync(old.ID!, ct).ConfigureAwait(false);
        return [];
    }

    private static string NameOf(SwarmService s) => s.Spec?.Name ?? s.ID ?? "";

    /// <summary>The checkout that deployed <paramref name="services"/> when it is not <paramref name="owner"/>; null when it is (or there are none).</summary>
    private static string? OtherOwner(IEnumerable<SwarmService> services, string owner) =>
        services.Select(s => s.Spec?.Labels is { } l && l.TryGetValue(StackLabels.Owner, out var o) ? o : "").FirstOrDefault(o => o != owner);

    /// <summary>The checkout that deployed the swarm stack <paramref name="stack"/> when it is not <paramref name="owner"/> (STACK4012).</summary>
    public async Task<string?> OtherOwnerAsync(string stack, string owner, CancellationToken ct) =>
        OtherOwner(await engine.ListServicesAsync(SwarmServices.StackLabel, stack, ct).ConfigureAwait(false), owner);

    /// <summary>
    /// Waits until Swarm runs <paramref name="replicas"/> tasks of the service's current spec (healthy, where it has a health
    /// check) and, after an update, until the update completed; a rollback or a pause is STACK4020 with Swarm's message.
    /// </summary>
    private async Task<Diagnostic?> ConvergeAsync(string service, int? replicas, bool updated, int readySeconds, CancellationToken ct)
    {
        // Start-first rolls one task at a time, each within its health check's start period at most.
        var limit = TimeSpan.FromSeconds(readySeconds) * Math.Max(1, updated ? replicas ?? 1 : 1) + TimeSpan.FromSeconds(30);
        var until = DateTime.UtcNow + limit;
        var sawUpdate = false;
        // When this update was recorded (the service's UpdatedAt at the first look): an update status from before it (a
        // rollback an earlier deploy left) says nothing about this one; a rollback of this one moves UpdatedAt again.
        DateTime? issued = null;
        var waitedForUpdate = System.Diagnostics.Stopwatch.StartNew();
        string lastError = "";
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var svc = await engine.InspectServiceAsync(service, ct).ConfigureAwait(false);
            if (svc is null) return Diagnostic.Error(nameof(Strings.SwarmUpdateFailed), service, "the service was removed while it was deployed");
            var state = svc.UpdateStatus?.State ?? "";
            issued ??= svc.UpdatedAt ?? DateTime.MinValue;
            var thisUpdate = svc.UpdateStatus?.StartedAt is { } started && started >= issued.Value.AddSeconds(-1);
            if (updated && thisUpdate && state is "rollback_started" or "rollback_completed" or "rollback_paused" or "paused")
                return Diagnostic.Error(nameof(Strings.SwarmUpdateFailed), service, $"the update {state.Replace('_', ' ')}: {svc.UpdateStatus!.Message}");
            sawUpdate |= thisUpdate;
            var tasks = await engine.ListTasksAsync(service, ct).ConfigureAwait(false);
            var live = tasks.Where(t => t.DesiredState == Docker.DotNet.Models.TaskState.Running).ToList();
            lastError = tasks.OrderByDescending(t => t.UpdatedAt).Select(t => t.Status?.Err).FirstOrDefault(e => !string.IsNullOrEmpty(e)) ?? lastError;
            var running = live.Count(t => t.Status?.State == Docker.DotNet.Models.TaskState.Running);
            // An update that replaced no task (a label or port changed) shows no update status: after 5 s, the tasks decide.
            var updateDone = !updated || (sawUpdate ? state == "completed" : waitedForUpdate.Elapsed > TimeSpan.FromSeconds(5));
            if (updateDone && live.Count > 0 && running == (replicas ?? live.Count) && live.Count == running) return null;
            if (DateTime.UtcNow > until)
                return Diagnostic.Error(nameof(Strings.SwarmUpdateFailed), service,
                    $"{running} of {replicas ?? live.Count} tasks running after {limit.TotalSeconds:0} s{(state.Length > 0 ? $" (update {state})" : "")}{(lastError.Length > 0 ? $"; last task error: {lastError}" : "")}");
            await Task.Delay(Poll, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes every service, config and the network carrying the stack's swarm label (volumes too with
    /// <paramref name="removeVolumes"/>), waiting for the tasks to be gone; returns what it removed.
    /// </summary>
    public async Task<IReadOnlyList<string>> RemoveAsync(string stack, bool removeVolumes, CancellationToken ct)
    {
        var removed = new List<string>();
        var services = await engine.ListServicesAsync(SwarmServices.StackLabel, stack, ct).ConfigureAwait(false);
        foreach (var s in services)
        {
            await engine.RemoveServiceAsync(s.ID!, ct).ConfigureAwait(false);
            removed.Add("service " + NameOf(s));
        }
        // The tasks' containers go after their services (each within its stop grace period): the network, the configs and
        // the volumes are free only then.
        var until = DateTime.UtcNow.AddSeconds(SwarmServices.StopGraceSeconds + 30);
        foreach (var s in services)
            while (await engine.CountServiceContainersAsync(s.ID!, ct).ConfigureAwait(false) > 0 && DateTime.UtcNow < until)
                await Task.Delay(Poll, ct).ConfigureAwait(false);
        foreach (var c in await engine.ListConfigsAsync(SwarmServices.StackLabel, stack, ct).ConfigureAwait(false))
            if (await engine.RemoveConfigAsync(c.ID!, ct).ConfigureAwait(false)) removed.Add("config " + c.Spec?.Name);
        var network = $"{stack}-swarm";
        var networkUntil = DateTime.UtcNow.AddSeconds(30);
        if (await engine.EnsureOwnedNetworkGoneAsync(network, SwarmServices.StackLabel, stack, networkUntil, ct).ConfigureAwait(false)) removed.Add("network " + network);
        if (removeVolumes)
            foreach (var v in await engine.ListVolumesAsync(SwarmServices.StackLabel, stack, ct).ConfigureAwait(false))
                if (await engine.RemoveVolumeAsync(v, ct).ConfigureAwait(false)) removed.Add("volume " + v);
        return removed;
    }
}
