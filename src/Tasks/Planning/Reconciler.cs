using ProxyStack.Diagnostics;
using ProxyStack.Model;
using ProxyStack.Proxy;

namespace ProxyStack.Planning;

/// <summary>
/// Compares the desired stack with an observed snapshot and plans the difference. Pure: no engine calls, no clock.
///
/// Invariants (kept true by every plan this returns):
/// - Nothing is touched when any desired name is held by a resource without our labels (STACK4001/4002).
/// - The network exists before any container is created on it.
/// - nginx never routes to a replica that is not ready: the proxy is created, or reloaded with the new upstream set, only after
///   every new replica's WaitReady step.
/// - nothing is stopped while nginx may still route to it: retired and surplus replicas are stopped only after the proxy step
///   and a drain.
/// - A replica being replaced keeps serving under a temporary name until its successor is ready (rolling replacement).
/// - An unchanged, running resource gets no step: applying twice gives an empty plan the second time.
/// </summary>
internal static class Reconciler
{
    public static ReconcileResult Reconcile(StackModel model, ObservedState observed, string appImage, string proxyImage, string proxyConfig)
    {
        var diagnostics = new List<Diagnostic>();
        var stack = model.Name;
        var appNames = Enumerable.Range(1, model.Replicas).Select(model.AppName).ToList();

        foreach (var c in observed.Containers.Where(c => !c.BelongsTo(stack)))
            if (c.Name == model.ProxyName || appNames.Contains(c.Name))
                diagnostics.Add(Diagnostic.Error(nameof(Strings.ForeignContainer), c.Name, stack));
        foreach (var n in observed.Networks.Where(n => n.Name == model.NetworkName && !n.BelongsTo(stack)))
            diagnostics.Add(Diagnostic.Error(nameof(Strings.ForeignNetwork), n.Name, stack));
        if (!observed.ImageIds.TryGetValue(appImage, out var appImageId))
            diagnostics.Add(Diagnostic.Error(nameof(Strings.AppImageMissing), appImage));
        if (model.NetworkMode == StackNetworking.Host && observed.EngineOperatingSystem.Contains("Docker Desktop", StringComparison.OrdinalIgnoreCase))
            diagnostics.Add(Diagnostic.Error(nameof(Strings.HostNetworkUnsupported), "", observed.EngineOperatingSystem));
        if (diagnostics.Count > 0) return new ReconcileResult(Plan.Empty, [], diagnostics);

        var nginxBaseId = observed.ImageIds.GetValueOrDefault(model.NginxImage, model.NginxImage);
        var proxyHash = ProxyHash(model, nginxBaseId);
        var host = model.NetworkMode == StackNetworking.Host;

        var b = new PlanBuilder();
        var kept = new List<string>();
        var ours = observed.Containers.Where(c => c.BelongsTo(stack)).ToList();
        var ownNetwork = observed.Networks.FirstOrDefault(n => n.BelongsTo(stack) && n.Name == model.NetworkName);
        // Outside bridge mode there is no network of our own to need: treat it as present.
        var netExists = !StackNetworking.OwnsNetwork(model) || ownNetwork is not null;
        int[] netDeps = netExists ? [] : [b.Add(StepKind.CreateNetwork, model.NetworkName, "missing", [])];
        int? previousHostReplacement = null;

        var ready = new List<int>();
        var retiring = new List<(string Name, string Cause)>();
        var oldImages = new SortedSet<string>(StringComparer.Ordinal);
        var replicasChanged = false;
        for (var i = 1; i <= model.Replicas; i++)
        {
            var name = model.AppName(i);
            var appHash = AppHash(model, appImageId!, i);
            var existing = ours.FirstOrDefault(c => c.Name == name);
            string? cause = null;
            var deps = netDeps.ToList();
            if (existing is null)
            {
                cause = "missing";
                if (host && observed.BusyReplicaPorts.Contains(StackNetworking.ReplicaPort(model, i)))
                    diagnostics.Add(Diagnostic.Error(nameof(Strings.ReplicaPortInUse), name, StackNetworking.ReplicaPort(model, i)));
            }
            else if (!netExists || existing.Label(StackLabels.ConfigHash) != appHash)
            {
                cause = !netExists ? "network recreated"
                    : existing.Label(StackLabels.NetworkMode) is { } was && was != model.NetworkMode ? $"network mode {was} → {model.NetworkMode}"
                    : existing.Label(StackLabels.ImageId) != appImageId ? "image changed" : "configuration changed";
                if (existing.Label(StackLabels.ImageId) is { } oldImage && oldImage != appImageId) oldImages.Add(oldImage);
                if (host && existing.Label(StackLabels.NetworkMode) == StackNetworking.Host)
                {
                    // Two host-mode replicas cannot share a port: replace one at a time, old one first, while nginx
                    // skips the missing replica (proxy_next_upstream) and the others serve.
                    var stop = b.Add(StepKind.StopContainer, name, cause, previousHostReplacement is { } p ? [p] : []);
                    deps.Add(b.Add(StepKind.RemoveContainer, name, cause, [stop]));
                }
                else
                {
                    var temp = StackNames.Retiring(name, existing.Id);
                    deps.Add(b.Add(StepKind.RetireContainer, name, cause, [], content: temp));
                    retiring.Add((temp, "replaced"));
                }
                if (host && observed.BusyReplicaPorts.Contains(StackNetworking.ReplicaPort(model, i)))
                    diagnostics.Add(Diagnostic.Error(nameof(Strings.ReplicaPortInUse), name, StackNetworking.ReplicaPort(model, i)));
            }
            else if (!existing.Running)
            {
                var start = b.Add(StepKind.StartContainer, name, "not running", deps);
                ready.Add(b.Add(StepKind.WaitReady, name, "not running", [start]));
                replicasChanged = true;
                continue;
            }
            else
            {
                kept.Add(name);
                continue;
            }
            var spec = AppSpec(model, name, i, appImage, appImageId!, appHash);
            var create = b.Add(StepKind.CreateContainer, name, cause, deps, spec);
            var started = b.Add(StepKind.StartContainer, name, cause, [create]);
            var waited = b.Add(StepKind.WaitReady, name, cause, [started]);
            ready.Add(waited);
            if (host && existing is not null) previousHostReplacement = waited;
            replicasChanged = true;
        }
        if (diagnostics.Count > 0) return new ReconcileResult(Plan.Empty, [], diagnostics);

        // Surplus replicas (scale-down) and leftovers of an interrupted rolling replacement, highest replica first.
        var surplus = ours
            .Where(c => c.Role == StackLabels.RoleApp && !appNames.Contains(c.Name))
            .OrderByDescending(c => c.Replica ?? int.MaxValue).ThenBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => (c.Name, Cause: c.Name.Contains("-retiring-") ? "left over from an interrupted replacement" : $"replica {c.Replica} > StackReplicas {model.Replicas}"))
            .ToList();
        replicasChanged |= surplus.Count > 0;

        int? commit = null;
        var proxy = ours.FirstOrDefault(c => c.Name == model.ProxyName);
        var configDiffers = observed.ProxyConfigHash != ConfigHash.Of(proxyConfig);
        var linksStale = model.NetworkMode == StackNetworking.Link && replicasChanged;
        if (proxy is null || !netExists || !proxy.Running || proxy.Label(StackLabels.ConfigHash) != proxyHash || linksStale)
        {
            var cause = proxy is null ? "missing" : !netExists ? "network recreated" : !proxy.Running ? "not running"
                : proxy.Label(StackLabels.ConfigHash) != proxyHash ? "definition changed" : "links changed";
            if (observed.HostPortBusy && (proxy is null || !proxy.Running))
                return new ReconcileResult(Plan.Empty, [], [Diagnostic.Error(nameof(Strings.HostPortInUse), model.HostAddress, model.HostPort)]);
            var deps = netDeps.Concat(ready).ToList();
            if (proxy is not null)
            {
                // The proxy holds no state: replace it rather than restart it, so it never starts with a stale upstream set.
                var stop = b.Add(StepKind.StopContainer, model.ProxyName, cause, ready);
                deps.Add(b.Add(StepKind.RemoveContainer, model.ProxyName, cause, [stop]));
            }
            var create = b.Add(StepKind.CreateContainer, model.ProxyName, cause, deps, ProxySpec(model, proxyImage, nginxBaseId, proxyHash));
            var start = b.Add(StepKind.StartContainer, model.ProxyName, cause, [create]);
            commit = b.Add(StepKind.WaitProxy, model.ProxyName, cause, [start]);
        }
        else if (replicasChanged || configDiffers)
        {
            var cause = replicasChanged ? "replicas changed" : "configuration changed";
            commit = b.Add(StepKind.ReloadProxy, model.ProxyName, cause, ready, content: proxyConfig);
        }
        else kept.Add(model.ProxyName);

        var leaving = retiring.Concat(surplus).ToList();
        var removedAll = new List<int>();
        if (leaving.Count > 0)
        {
            var drain = b.Add(StepKind.Drain, model.ProxyName, "let in-flight requests finish", commit is { } c ? [c] : ready);
            var removed = new List<int>();
            foreach (var (name, cause) in leaving)
            {
                var stop = b.Add(StepKind.StopContainer, name, cause, [drain]);
                removed.Add(b.Add(StepKind.RemoveContainer, name, cause, [stop]));
            }
            removedAll.AddRange(removed);
        }
        // The engine refuses to remove an image another container still uses; the executor takes that refusal as done.
        foreach (var image in oldImages)
            b.Add(StepKind.RemoveImage, image, "no longer used by the stack", removedAll.Count > 0 ? removedAll : ready);
        // A network left from an earlier bridge-mode run: removed once nothing is attached to it any more.
        if (!StackNetworking.OwnsNetwork(model) && ownNetwork is not null)
            b.Add(StepKind.RemoveNetwork, ownNetwork.Name, $"not used in {model.NetworkMode} mode", removedAll.Concat(commit is { } c2 ? [c2] : ready));
        return new ReconcileResult(b.Build(), kept, diagnostics);
    }

    /// <summary>Removes every resource labelled with the stack: proxy first, then replicas from the highest, then networks.</summary>
    public static Plan PlanTeardown(string stack, ObservedState observed)
    {
        var b = new PlanBuilder();
        var ours = observed.Containers.Where(c => c.BelongsTo(stack))
            .OrderBy(c => c.Role == StackLabels.RoleProxy ? 0 : 1)
            .ThenByDescending(c => c.Replica ?? 0).ThenBy(c => c.Name, StringComparer.Ordinal);
        foreach (var c in ours)
        {
            if (c.Running) b.Add(StepKind.StopContainer, c.Name, "stack down", []);
            b.Add(StepKind.RemoveContainer, c.Name, "stack down", []);
        }
        foreach (var n in observed.Networks.Where(n => n.BelongsTo(stack)).OrderBy(n => n.Name, StringComparer.Ordinal))
            b.Add(StepKind.RemoveNetwork, n.Name, "stack down", []);
        return b.Build();
    }

    /// <summary>
    /// What defines an app replica. The replica count is left out: scaling never recreates a replica. The replica number
    /// matters only through its environment (its own port in host mode).
    /// </summary>
    public static string AppHash(StackModel model, string imageId, int replica = 1) => ConfigHash.Compute(new Dictionary<string, object?>
    {
        ["role"] = StackLabels.RoleApp,
        ["image"] = imageId,
        ["env"] = StackNetworking.AppEnvironment(model, replica),
        ["network"] = StackNetworking.ContainerNetwork(model),
        ["restart"] = "unless-stopped",
    });

    /// <summary>What defines the proxy. nginx.conf is left out: a config change is a reload, never a recreate.</summary>
    public static string ProxyHash(StackModel model, string nginxBaseId) => ConfigHash.Compute(new Dictionary<string, object?>
    {
        ["role"] = StackLabels.RoleProxy,
        ["base"] = nginxBaseId,
        ["publish"] = model.NetworkMode == StackNetworking.Host ? $"host {model.HostAddress}:{model.HostPort}" : $"{model.HostAddress}:{model.HostPort}->{NginxConfigWriter.ContainerPort}",
        ["network"] = StackNetworking.ContainerNetwork(model),
        ["links"] = StackNetworking.ProxyLinks(model),
        ["restart"] = "unless-stopped",
    });

    public static Dictionary<string, string> Labels(string stack, string role) => new()
    {
        [StackLabels.Stack] = stack,
        [StackLabels.Role] = role,
        [StackLabels.Version] = StackLabels.ToolVersion,
    };

    private static Dictionary<string, string> ContainerLabels(StackModel model, string role)
    {
        var labels = Labels(model.Name, role);
        labels[StackLabels.NetworkMode] = model.NetworkMode;
        return labels;
    }

    private static ContainerSpec AppSpec(StackModel model, string name, int replica, string image, string imageId, string hash)
    {
        var labels = ContainerLabels(model, StackLabels.RoleApp);
        labels[StackLabels.Replica] = replica.ToString(System.Globalization.CultureInfo.InvariantCulture);
        labels[StackLabels.ConfigHash] = hash;
        labels[StackLabels.ImageId] = imageId;
        return new ContainerSpec
        {
            Name = name, Image = image, Network = StackNetworking.ContainerNetwork(model), Labels = labels,
            Environment = StackNetworking.AppEnvironment(model, replica),
        };
    }

    private static ContainerSpec ProxySpec(StackModel model, string image, string baseId, string hash)
    {
        var labels = ContainerLabels(model, StackLabels.RoleProxy);
        labels[StackLabels.ConfigHash] = hash;
        labels[StackLabels.ImageId] = baseId;
        return new ContainerSpec
        {
            Name = model.ProxyName, Image = image, Network = StackNetworking.ContainerNetwork(model), Labels = labels,
            // In host mode nginx binds StackHostAddress:StackHostPort itself; there is nothing to publish.
            Publish = model.NetworkMode == StackNetworking.Host ? null : new PortBinding(model.HostAddress, model.HostPort, NginxConfigWriter.ContainerPort),
            Links = StackNetworking.ProxyLinks(model),
        };
    }

    private sealed class PlanBuilder
    {
        private readonly List<PlanStep> _steps = [];

        public int Add(StepKind kind, string resource, string cause, IEnumerable<int> dependsOn, ContainerSpec? spec = null, string? content = null)
        {
            var id = _steps.Count + 1;
            _steps.Add(new PlanStep(id, kind, resource, cause, dependsOn.Distinct().Order().ToList()) { Container = spec, Content = content });
            return id;
        }

        public Plan Build() => new(_steps);
    }
}
