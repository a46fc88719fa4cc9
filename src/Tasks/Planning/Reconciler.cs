using ProxyStack.Diagnostics;
using ProxyStack.Model;
using ProxyStack.Proxy;

namespace ProxyStack.Planning;

/// <summary>
/// Compares the desired stack with an observed snapshot and plans the difference. Pure: no engine calls, no clock.
/// Planning runs in phases, each a method with the reason it exists (docker/compose reconcile.go does the same):
/// ownership checks → network → replicas → proxy → retirement and cleanup.
///
/// Invariants (kept true by every plan this returns):
/// - Nothing is touched when any desired name is held by a resource that ProxyStack did not create for this stack
///   (STACK4001/4002), or when the stack belongs to another checkout (STACK4012).
/// - The network exists before any container is created on it.
/// - nginx never routes to a replica that is not ready: the proxy is created, or reloaded with the new upstream set, only after
///   every new replica's WaitReady step; with DNS membership a replica takes its slot name only after its own. A replica is
///   kept only when it answered the current health probe (observed).
/// - Nothing is stopped while nginx may still route to it: retired and surplus replicas are stopped only after the proxy step
///   and a drain.
/// - A replica being replaced keeps serving under a temporary name until its successor is ready (rolling replacement).
/// - The proxy being replaced keeps serving until its successor is proven: beside it when the new one binds another address
///   or port; otherwise the new config is checked with nginx -t first, and a failed successor brings the old one back.
/// - An unchanged, running, ready resource gets no step: applying twice gives an empty plan the second time.
/// </summary>
internal static class Reconciler
{
    /// <summary>Plans the stack's change. <paramref name="projectImages"/>: each StackProject's image (name → reference or id) built for this run.</summary>
    public static ReconcileResult Reconcile(StackModel model, ObservedState observed, string appImage, string proxyImage, string proxyConfig,
        IReadOnlyDictionary<string, string>? projectImages = null)
    {
        // Every replica set's image; the front project's only when its replicas run in containers (not StackAppOnHost).
        var images = new Dictionary<string, string>(StringComparer.Ordinal);
        if (model.AppOnHostPort == 0) images[""] = appImage;
        foreach (var project in model.Projects) images[project.Name] = projectImages?.GetValueOrDefault(project.Name) ?? "";
        var diagnostics = CheckOwnership(model, observed, images.Values);
        if (diagnostics.Count > 0) return new ReconcileResult(Plan.Empty, [], diagnostics);

        var planner = new Planner(model, observed, images.ToDictionary(i => i.Key, i => observed.ImageIds[i.Value]), proxyImage, proxyConfig);
        planner.PlanNetwork();
        planner.PlanVolumes();
        planner.PlanServices();
        planner.PlanReplicas();
        if (planner.Diagnostics.Count > 0) return new ReconcileResult(Plan.Empty, [], planner.Diagnostics);
        planner.PlanProxy();
        if (planner.Diagnostics.Count > 0) return new ReconcileResult(Plan.Empty, [], planner.Diagnostics);
        planner.PlanRetirement();
        return new ReconcileResult(planner.Build(), planner.Kept, []);
    }

    /// <summary>
    /// Phase 1, before anything is planned: a name we need that is held by something we did not create, a stack owned by another
    /// checkout, or an image or mode the engine cannot serve stops the whole plan, so nothing is half-changed.
    /// </summary>
    private static List<Diagnostic> CheckOwnership(StackModel model, ObservedState observed, IEnumerable<string> appImages)
    {
        var diagnostics = new List<Diagnostic>();
        var stack = model.Name;
        var names = StackNetworking.ContainerNames(model).ToHashSet(StringComparer.Ordinal);
        foreach (var c in observed.Containers.Where(c => !c.BelongsTo(stack)))
            if (names.Contains(c.Name))
                diagnostics.Add(Diagnostic.Error(nameof(Strings.ForeignContainer), c.Name, stack));
        foreach (var n in observed.Networks.Where(n => n.Name == model.NetworkName && !n.BelongsTo(stack)))
            diagnostics.Add(Diagnostic.Error(nameof(Strings.ForeignNetwork), n.Name, stack));
        var volumes = ServiceVolumeNames(model).Concat(model.KeysVolumeNames).Concat(model.DataVolumeNames).ToHashSet(StringComparer.Ordinal);
        foreach (var v in observed.Volumes.Where(v => volumes.Contains(v.Name) && !v.BelongsTo(stack)))
            diagnostics.Add(Diagnostic.Error(nameof(Strings.ForeignVolume), v.Name, stack));
        if (OwnedElsewhere(model, observed) is { } elsewhere) diagnostics.Add(elsewhere);
        foreach (var appImage in appImages.Where(i => !observed.ImageIds.ContainsKey(i)))
            diagnostics.Add(Diagnostic.Error(nameof(Strings.AppImageMissing), appImage));
        // The app on the host (StackAppOnHost) starts only after the stack is up: a port it cannot bind would crash it there,
        // with the stack already changed for it.
        if (observed.BusyAppOnHostPort != 0)
            diagnostics.Add(Diagnostic.Error(nameof(Strings.HostPortInUse), StackNetworking.AppOnHostBindAddress, observed.BusyAppOnHostPort, "StackAppOnHostPort"));
        return diagnostics;
    }

    /// <summary>The named volumes the backing containers mount (full names), each once.</summary>
    public static IEnumerable<string> ServiceVolumeNames(StackModel model) =>
        model.Services.SelectMany(s => s.Volumes).Select(v => v.Name).Distinct(StringComparer.Ordinal);

    /// <summary>
    /// Null when nothing of the stack belongs to another checkout. Else STACK4012 when a container or network does (that
    /// checkout's stack is up, or was left up), or STACK4022 naming the volumes when only volumes do: that checkout's stack
    /// is down but its kept data is not, and what removes it is a StackDown with StackRemoveVolumes there, not a StackDown.
    /// </summary>
    public static Diagnostic? OwnedElsewhere(StackModel model, ObservedState observed)
    {
        if (OtherOwner(model, observed) is not { } owner) return null;
        var upElsewhere = observed.Containers.Any(c => c.BelongsTo(model.Name) && c.Owner != model.Owner)
            || observed.Networks.Any(n => n.BelongsTo(model.Name) && n.Owner != model.Owner);
        if (upElsewhere) return Diagnostic.Error(nameof(Strings.StackOwnedElsewhere), model.Name, owner, model.Owner);
        var volumes = observed.Volumes.Where(v => v.BelongsTo(model.Name) && v.Owner == owner).Select(v => v.Name).Order(StringComparer.Ordinal);
        return Diagnostic.Error(nameof(Strings.StackVolumesOwnedElsewhere), model.Name, owner, model.Owner, string.Join(", ", volumes));
    }

    /// <summary>The owner recorded on any of the stack's resources that is not this checkout, or null.</summary>
    public static string? OtherOwner(StackModel model, ObservedState observed) =>
        observed.Containers.Where(c => c.BelongsTo(model.Name)).Select(c => c.Owner)
            .Concat(observed.Networks.Where(n => n.BelongsTo(model.Name)).Select(n => n.Owner))
            .Concat(observed.Volumes.Where(v => v.BelongsTo(model.Name)).Select(v => v.Owner))
            .FirstOrDefault(o => o != model.Owner);

    /// <summary>
    /// Removes every resource labelled with the stack: the proxy first (nothing is routed to a replica being stopped), then the
    /// replicas side by side (each stop waits for its app's graceful shutdown, so doing them one by one only adds those
    /// waits up), then the networks once nothing is attached. Volumes (the key ring) only with <paramref name="removeVolumes"/>,
    /// once no container mounts them: by default they outlive the stack, as the sign-ins they keep valid do. Images stay (the
    /// next StackUp uses them), but a proxy reloaded in place runs the image it was created from, which a later config's
    /// build took the tag from: nothing would run that nameless image again, so it goes with its proxy (unless held).
    /// </summary>
    /// <param name="stack">The stack's name.</param>
    /// <param name="observed">What belongs to it; <see cref="ObservedState.ImageIds"/> holds the proxy image's current id under its tag, if any.</param>
    /// <param name="removeVolumes">StackRemoveVolumes.</param>
    public static Plan PlanTeardown(string stack, ObservedState observed, bool removeVolumes = false)
    {
        var b = new PlanBuilder();
        var ours = observed.Containers.Where(c => c.BelongsTo(stack))
            .OrderBy(c => c.Role == StackLabels.RoleProxy ? 0 : c.Role == StackLabels.RoleService ? 2 : 1)
            .ThenByDescending(c => c.Replica ?? 0).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        var proxiesGone = new List<int>();
        var allGone = new List<int>();
        foreach (var c in ours)
        {
            // Backing containers stop last, once nothing that may use them runs.
            var after = c.Role == StackLabels.RoleProxy ? [] : c.Role == StackLabels.RoleService ? allGone.ToList() : proxiesGone.ToList();
            if (c.Running) after = [b.Add(StepKind.StopContainer, c.Name, "stack down", after)];
            var removed = b.Add(StepKind.RemoveContainer, c.Name, "stack down", after);
            if (c.Role == StackLabels.RoleProxy) proxiesGone.Add(removed);
            allGone.Add(removed);
            if (c.Role == StackLabels.RoleProxy && c.Label(StackLabels.InUseUntil) is null && c.Image.Length > 0
                && observed.ImageIds.GetValueOrDefault(StackNames.ProxyImage(stack) + ":latest") is { } current && current != c.Image)
                b.Add(StepKind.RemoveImage, c.Image, "its proxy's config was superseded", [removed]);
        }
        foreach (var n in observed.Networks.Where(n => n.BelongsTo(stack)).OrderBy(n => n.Name, StringComparer.Ordinal))
            b.Add(StepKind.RemoveNetwork, n.Name, "stack down", allGone);
        if (removeVolumes)
            foreach (var v in observed.Volumes.Where(v => v.BelongsTo(stack)).OrderBy(v => v.Name, StringComparer.Ordinal))
                b.Add(StepKind.RemoveVolume, v.Name, "stack down, StackRemoveVolumes", allGone);
        return b.Build();
    }

    /// <summary>
    /// What defines an app replica. The replica count is left out: scaling never recreates a replica. The replica number
    /// matters only through its environment (its own port in host mode). The restart policy is left out: a `dotnet run` reusing
    /// a kept stack keeps its containers (and their policy) instead of replacing them all. Secret values are never hashed here in the clear:
    /// the caller passes them already keyed (see <see cref="SecretDigests"/>), so the label cannot confirm a guessed secret.
    /// </summary>
    public static string AppHash(StackModel model, string imageId, int replica = 1)
    {
        var inputs = new Dictionary<string, object?>
        {
            ["role"] = StackLabels.RoleApp,
            ["image"] = imageId,
            ["env"] = StackNetworking.ReplicaEnvironment(model, replica).Where(e => !model.SecretNames.Contains(e.Key)).ToList(),
            ["secrets"] = model.SecretDigest,
            ["network"] = StackNetworking.ContainerNetwork(model),
        };
        // The key ring's volume and where it is mounted; left out without one, so the hash of a stack without it is unchanged.
        if (model.SharedKeys) inputs["keys"] = $"{model.KeysVolumeName}:{model.KeyRingDirectory}";
        // Likewise its SQLite files' volume (their connection strings are in its environment).
        if (model.Databases.Count > 0) inputs["data"] = $"{model.DataVolumeName}:{FileDatabases.Directory}";
        return ConfigHash.Compute(inputs);
    }

    /// <summary>What defines a backing container: everything in its spec but the labels that record this hash.</summary>
    public static string ServiceHash(StackModel model, BackingService service, string imageId) => ConfigHash.Compute(new Dictionary<string, object?>
    {
        ["role"] = StackLabels.RoleService,
        ["image"] = imageId,
        ["env"] = service.Environment.Where(e => !service.SecretNames.Contains(e.Key)).ToList(),
        ["secrets"] = service.SecretDigest,
        ["command"] = service.Command,
        ["volumes"] = service.Volumes.Select(v => $"{v.Name}:{v.Target}").ToList(),
        ["publish"] = service.HostPort > 0 ? $"{model.HostAddress}:{service.HostPort}->{service.Port}" : "",
        ["network"] = StackNetworking.ContainerNetwork(model),
    });

    /// <summary>What defines the proxy. nginx.conf is left out: a config change is a reload, never a recreate.</summary>
    public static string ProxyHash(StackModel model, string nginxBaseId)
    {
        var inputs = new Dictionary<string, object?>
    {
        ["role"] = StackLabels.RoleProxy,
        ["base"] = nginxBaseId,
        ["publish"] = model.Network.OnHostNetwork ? $"host {model.HostAddress}:{model.HostPort}" : $"{model.HostAddress}:{model.HostPort}->{NginxConfigWriter.ContainerPort}",
        ["network"] = StackNetworking.ContainerNetwork(model),
        ["links"] = StackNetworking.ProxyLinks(model),
        ["hardening"] = ContainerSpecs.HardeningVersion,
    };
        // HTTPS: the port and the certificate (its digest; the key never leaves memory). Left out without HTTPS, so the hash
        // of every existing proxy stays what it was.
        if (model.HttpsPort != 0) inputs["https"] = $"{model.HostAddress}:{model.HttpsPort} {model.Tls?.CertificateDigest}";
        // The StackProjects' names it answers to (network aliases are set at creation); left out without any.
        if (model.ProxyAliases.Count > 0) inputs["aliases"] = model.ProxyAliases;
        // The host-gateway entry of StackAppOnHost (set at creation); left out without it.
        if (StackNetworking.ProxyExtraHosts(model) is { Count: > 0 } hosts) inputs["hosts"] = hosts;
        return ConfigHash.Compute(inputs);
    }

    public static Dictionary<string, string> Labels(StackModel model, string role) => new()
    {
        [StackLabels.Stack] = model.Name,
        [StackLabels.Role] = role,
        [StackLabels.Owner] = model.Owner,
        [StackLabels.Version] = StackLabels.ToolVersion,
    };

    /// <summary>The mutable state of one planning run, shared by the phases.</summary>
    private sealed class Planner(StackModel model, ObservedState observed, IReadOnlyDictionary<string, string> appImageIds, string proxyImage, string proxyConfig)
    {
        /// <summary>The front project's replicas and each StackProject's, in start order (see <see cref="StackModel.ReplicaSets"/>).</summary>
        private readonly IReadOnlyList<StackModel> _sets = model.ReplicaSets;
        /// <summary>Replica sets this plan starts replicas of: project name ("" for the front) → their WaitReady steps.</summary>
        private readonly Dictionary<string, List<int>> _setReady = new(StringComparer.Ordinal);
        private readonly PlanBuilder _b = new();
        private readonly List<ObservedContainer> _ours = observed.Containers.Where(c => c.BelongsTo(model.Name)).ToList();
        private readonly List<int> _ready = [];
        /// <summary>The StartContainer steps of every new replica (a missing proxy starts after them, see PlanProxy).</summary>
        private readonly List<int> _started = [];
        private readonly List<(string Name, string Cause)> _retiring = [];
        private readonly SortedSet<string> _oldImages = new(StringComparer.Ordinal);
        private readonly bool _host = model.Network.OnHostNetwork;
        /// <summary>DNS membership (see <see cref="StackNetworking.ReplicasByDns"/>): replicas join nginx's upstream through an alias.</summary>
        private readonly bool _dns = StackNetworking.ReplicasByDns(model);
        /// <summary>
        /// DNS membership where slots are join-time aliases (Podman, a swarm node): nginx is given the slot holders' addresses
        /// by a reload instead of resolving the slots (see <see cref="NginxConfigWriter.RouteByAddress"/>).
        /// </summary>
        private readonly bool _byAddress = StackNetworking.SlotsByDns(model) && !observed.DnsFollowsRenames;
        /// <summary>With <see cref="_byAddress"/>: a reload or proxy wait that gives nginx the slot holders' addresses when it runs.</summary>
        private PlanStep RoutedByAddress(PlanStep s) => s with
        {
            Config = proxyConfig,
            RouteByAddress = true,
            Slots = StackNetworking.SlotNames(model),
            AliasNetwork = StackNetworking.ContainerNetwork(model),
        };
        /// <summary>DNS membership: slot names that change hands in this plan (joins and renames away).</summary>
        private int _membershipChanges;
        /// <summary>Surplus or stale containers already planned for (renamed away or removed) by the replica phase.</summary>
        private readonly HashSet<string> _handled = new(StringComparer.Ordinal);
        /// <summary>DNS membership: the AwaitResolver step that replicas renamed out of their slots stop after, once planned.</summary>
        private int? _resolved;
        private bool _membershipPlanned;
        /// <summary>
        /// DNS membership: the slots whose new replica takes the name once it is ready (its WaitReady step), the old holder if
        /// any, and whether the slot's set has a standby in its upstream (StackNetworking.StandbyUpstream).
        /// </summary>
        private readonly List<(string Name, string Cause, ObservedContainer? Old, int Ready, bool Standby, bool Routed)> _joining = [];
        /// <summary>The slot names new replicas take that nginx routes to (DNS membership; a background service's are not in its config).</summary>
        private List<string> JoiningSlots => [.. _joining.Where(j => j.Routed).Select(j => j.Name)];
        private int[] _netDeps = [];
        private bool _netExists;
        /// <summary>
        /// Key ring volumes this plan creates: name → its CreateVolume step, which the set's replicas are created after. Such a
        /// ring is empty, and the set's first new replica writes it alone.
        /// </summary>
        private readonly Dictionary<string, int> _ringCreated = new(StringComparer.Ordinal);
        /// <summary>Backing containers this plan (re)creates: name → its WaitService step, which dependants start after.</summary>
        private readonly Dictionary<string, int> _serviceReady = new(StringComparer.Ordinal);
        /// <summary>Backing containers replaced by this plan: their temporary name, why, and their successor's WaitService step.</summary>
        private readonly List<(string Name, string Cause, int SuccessorReady)> _retiredServices = [];
        /// <summary>Service volumes this plan creates: name → its CreateVolume step.</summary>
        private readonly Dictionary<string, int> _volumeCreated = new(StringComparer.Ordinal);
        private bool _replicasChanged;
        private int? _commit;
        private string? _retiredProxy;
        /// <summary>The step that removed a proxy that was not serving (before its successor was created), or null.</summary>
        private int? _oldProxyRemoved;

        public List<Diagnostic> Diagnostics { get; } = [];
        public List<string> Kept { get; } = [];

        public Plan Build() => _b.Build();

        /// <summary>
        /// Phase 2: the stack's own network. Outside bridge mode there is none to need, so it counts as present; a missing one
        /// means every container must be recreated on the new network.
        /// </summary>
        public void PlanNetwork()
        {
            _netExists = !StackNetworking.OwnsNetwork(model) || observed.Networks.Any(n => n.BelongsTo(model.Name) && n.Name == model.NetworkName);
            if (!_netExists) _netDeps = [_b.Add(StepKind.CreateNetwork, model.NetworkName, "missing", [], with: s => s with { Labels = Labels(model, StackLabels.RoleNetwork) })];
        }

        /// <summary>
        /// Phase 2b: each replica set's key ring volume (StackSharedKeys), for a set with replicas in containers. It is created
        /// before any replica that mounts it, with the stack's labels (an engine would create a missing one unlabelled on first
        /// mount), and never recreated: it outlives the replicas, which is its point.
        /// </summary>
        public void PlanVolumes()
        {
            // The backing containers' named volumes too: created labelled before the container that mounts them, and kept.
            foreach (var name in ServiceVolumeNames(model).Where(n => !observed.Volumes.Any(v => v.BelongsTo(model.Name) && v.Name == n)))
                _volumeCreated[name] = _b.Add(StepKind.CreateVolume, name, "missing", [], with: s => s with { Labels = Labels(model, StackLabels.RoleData) });
            foreach (var ring in _sets.Where(s => s.SharedKeys && s.Replicas > 0).Select(s => s.KeysVolumeName)
                .Where(n => !observed.Volumes.Any(v => v.BelongsTo(model.Name) && v.Name == n)))
                _ringCreated[ring] = _b.Add(StepKind.CreateVolume, ring, "missing", [], with: s => s with { Labels = Labels(model, StackLabels.RoleKeys) });
            // The SQLite files' volumes (see FileDatabase): the first replica created seeds them from its image.
            foreach (var data in _sets.Where(s => s.Databases.Count > 0 && s.Replicas > 0).Select(s => s.DataVolumeName)
                .Where(n => !observed.Volumes.Any(v => v.BelongsTo(model.Name) && v.Name == n)))
                _volumeCreated[data] = _b.Add(StepKind.CreateVolume, data, "missing", [], with: s => s with { Labels = Labels(model, StackLabels.RoleData) });
        }

        /// <summary>
        /// Phase 2c: backing containers (StackContainer), in start order, before the replicas that depend on them. Each is kept
        /// when its definition is unchanged and it runs; otherwise it is stopped and created again — a database cannot run
        /// twice on one volume, so there is no rolling replacement here — after the containers it depends on are ready. Nothing
        /// routes to it, so the app replicas that depend on it start once it is ready (their WaitService step).
        /// </summary>
        public void PlanServices()
        {
            foreach (var service in model.Services)
            {
                var name = model.ServiceName(service.Name);
                var imageId = observed.ImageIds.GetValueOrDefault(service.Image, service.Image);
                var hash = ServiceHash(model, service, imageId);
                var existing = _ours.FirstOrDefault(c => c.Name == name);
                var check = new ServiceCheck(StackNetworking.ContainerNetwork(model), service.ReadyWhen, service.Port);
                if (existing is not null && _netExists && existing.Running && existing.Label(StackLabels.ConfigHash) == hash)
                {
                    // Unchanged and running: kept once it passes its rule now; one that does not (still initializing after an
                    // interrupted run, say) is waited for again — never recreated for it: its data may be what it is busy with.
                    if (observed.UnreadyServices.TryGetValue(name, out var seen))
                        _serviceReady[service.Name] = _b.Add(StepKind.WaitService, name, $"not ready ({seen})",
                            service.DependsOn.Where(_serviceReady.ContainsKey).Select(d => _serviceReady[d]), with: s => s with { Service = check });
                    else Kept.Add(name);
                    continue;
                }
                var deps = _netDeps.Concat(service.Volumes.Select(v => _volumeCreated.GetValueOrDefault(v.Name)).Where(id => id > 0))
                    .Concat(service.DependsOn.Where(_serviceReady.ContainsKey).Select(d => _serviceReady[d])).ToList();
                var cause = existing is null ? "missing" : !_netExists ? "network recreated" : !existing.Running ? "not running"
                    : existing.Label(StackLabels.ImageId) != imageId ? "image changed" : "configuration changed";
                string? retired = null;
                if (existing is not null)
                {
                    // Stepped aside and stopped, not removed: a successor that fails brings it back (renamed back, started),
                    // and it is removed only once its successor is ready.
                    retired = StackNames.Retiring(name, existing.Id);
                    var retire = _b.Add(StepKind.RetireContainer, name, cause, service.DependsOn.Where(_serviceReady.ContainsKey).Select(d => _serviceReady[d]), with: s => s with { RenameTo = retired });
                    deps.Add(_b.Add(StepKind.StopContainer, retired, cause, [retire], undoByStarting: true));
                }
                var create = _b.Add(StepKind.CreateContainer, name, cause, deps, ContainerSpecs.Service(model, service, imageId, hash));
                var start = _b.Add(StepKind.StartContainer, name, cause, [create]);
                _serviceReady[service.Name] = _b.Add(StepKind.WaitService, name, cause, [start], with: s => s with { Service = check });
                if (retired is not null) _retiredServices.Add((retired, cause, _serviceReady[service.Name]));
            }
        }

        /// <summary>
        /// Phase 3: each desired replica is kept (same hash, running, ready), started, or replaced. Replacement is rolling: the old
        /// replica keeps its traffic under a temporary name until the new one is ready, except in host mode, where two
        /// replicas cannot share a port and are replaced one at a time while nginx skips the missing one.
        /// With DNS membership nginx resolves the slot names (&lt;stack&gt;-app-N), so a name is the membership: a new replica
        /// starts as &lt;slot&gt;-joining, outside the upstream; once it is ready, the old one is renamed away (nginx stops
        /// choosing it while its connections stay intact) and the new one takes the slot name (see PlanMembership). A stopped
        /// replica is replaced rather than started: under its slot name it would be resolvable before it is ready.
        /// </summary>
        public void PlanReplicas()
        {
            foreach (var set in _sets) PlanReplicaSet(set, appImageIds.GetValueOrDefault(set.ProjectKey, ""));
        }

        /// <summary>One replica set (the front project's, or a StackProject's): each set after what it depends on is ready.</summary>
        private void PlanReplicaSet(StackModel set, string appImageId)
        {
            int? previousHostReplacement = null;
            int? firstReplacement = null;
            var setReady = new List<int>();
            // The set's ring when this plan creates it (empty), and then its first new replica's readiness, which the others
            // start after.
            int[] ringDeps = set.SharedKeys && _ringCreated.TryGetValue(set.KeysVolumeName, out var ring) ? [ring] : [];
            // Its database volume when this plan creates it: before any replica mounts it (the engine would make it unlabelled).
            int[] dataDeps = set.Databases.Count > 0 && _volumeCreated.TryGetValue(set.DataVolumeName, out var data) ? [data] : [];
            int? firstKeyWriter = null;
            for (var i = 1; i <= set.Replicas; i++)
            {
                var name = set.AppName(i);
                var appHash = AppHash(set, appImageId, i);
                var existing = _ours.FirstOrDefault(c => c.Name == name);
                var deps = _netDeps.Concat(ringDeps).Concat(dataDeps).Concat(set.AppDependsOn.Where(_serviceReady.ContainsKey).Select(d => _serviceReady[d]))
                    .Concat(set.AppDependsOn.Where(_setReady.ContainsKey).SelectMany(d => _setReady[d])).ToList();
                string cause;
                if (existing is null)
                {
                    cause = "missing";
                    CheckReplicaPort(set, name, i);
                }
                else if (_netExists && existing.Label(StackLabels.ConfigHash) == appHash && !existing.Running && !_dns)
                {
                    var start = _b.Add(StepKind.StartContainer, name, "not running", deps);
                    var restarted = _b.Add(StepKind.WaitReady, name, "not running", [start], with: s => s with { Replica = ReplicaCheck(set, i) });
                    _ready.Add(restarted);
                    setReady.Add(restarted);
                    _replicasChanged = true;
                    continue;
                }
                else if (_netExists && existing.Label(StackLabels.ConfigHash) == appHash && existing.Running && !observed.UnreadyReplicas.ContainsKey(name))
                {
                    Kept.Add(name);
                    continue;
                }
                else
                {
                    cause = ReplaceCause(existing, appHash, appImageId);
                    if (existing.Label(StackLabels.ImageId) is { } oldImage && oldImage != appImageId) _oldImages.Add(oldImage);
                    if (_host && StackNetworkMode.Parse(existing.Label(StackLabels.NetworkMode)) is { OnHostNetwork: true })
                    {
                        var stop = _b.Add(StepKind.StopContainer, name, cause, previousHostReplacement is { } p ? [p] : []);
                        deps.Add(_b.Add(StepKind.RemoveContainer, name, cause, [stop]));
                    }
                    else if (!_dns)
                    {
                        var temp = StackNames.Retiring(name, existing.Id);
                        deps.Add(_b.Add(StepKind.RetireContainer, name, cause, [], with: s => s with { RenameTo = temp }));
                        _retiring.Add((temp, "replaced"));
                    }
                    CheckReplicaPort(set, name, i);
                }
                var created = _dns ? StackNames.Joining(name) : name;
                if (_dns && _ours.FirstOrDefault(c => c.Name == created) is { } stale)
                {
                    // Left by an interrupted run: it goes before its name is used again.
                    var stopStale = _b.Add(StepKind.StopContainer, created, "left over from an interrupted replacement", []);
                    deps.Add(_b.Add(StepKind.RemoveContainer, stale.Name, "left over from an interrupted replacement", [stopStale]));
                    _handled.Add(stale.Name);
                }
                var spec = ContainerSpecs.App(set, created, i, appImageId, appHash);
                // A rolling replacement's first new replica comes up alone: its slot changes hands as soon as it is ready, while
                // the others' hand-overs wait for nginx to resolve it anyway, so they are created once it is ready and leave it
                // the engine and the CPU it boots with (edit-to-served is this replica's start, its readiness and nginx's next
                // lookup).
                if (_dns && existing is not null && firstReplacement is { } leader) deps.Add(leader);
                var create = _b.Add(StepKind.CreateContainer, created, cause, deps, spec);
                // An empty key ring: ASP.NET Core creates a key at startup when it finds none, so replicas starting together
                // would each create their own and refuse each other's payloads. The first writes the ring; the others start
                // once it is ready, and load that ring.
                var started = _b.Add(StepKind.StartContainer, created, cause, firstKeyWriter is { } writer ? [create, writer] : [create]);
                _started.Add(started);
                var waited = _b.Add(StepKind.WaitReady, created, cause, [started], with: s => s with { Replica = ReplicaCheck(set, i) });
                setReady.Add(waited);
                if (ringDeps.Length > 0) firstKeyWriter ??= waited;
                if (_dns && existing is not null) firstReplacement ??= waited;
                _ready.Add(waited);
                if (_host && existing is not null) previousHostReplacement = waited;
                if (_dns) _joining.Add((name, cause, existing, waited, StackNetworking.StandbyUpstream(set), !set.Background));
                _replicasChanged = true;
            }
            if (setReady.Count > 0) _setReady[set.ProjectKey] = setReady;
        }

        /// <summary>
        /// DNS membership: each new replica takes its slot name as soon as it is ready (an old holder renamed away first), so
        /// the first new replica serves while the others still boot; a surplus replica (above StackReplicas) is renamed away
        /// once every new replica is ready. nginx's resolver sees the change within a second (the AwaitResolver commit step,
        /// planned with the proxy), and only then does anything stop: until then a failure gives every slot back to its old
        /// replica (the executor's undo of the joins and renames), which still runs.
        /// </summary>
        /// <param name="first">Steps the hand-over waits for besides readiness: a config reload, which waits for every new
        /// replica, so that a config nginx refuses stops the run before any slot changed hands.</param>
        private void PlanMembership(IReadOnlyList<int> first)
        {
            if (!_dns || _membershipPlanned) return;
            _membershipPlanned = true;
            var allReady = _ready.Concat(first).ToList();
            _ready.Clear();
            // A slot changes hands by two renames, and between them its name does not resolve: should nginx's resolver ask
            // just then, it drops that slot for a second. Side by side, a resolver tick that fell into every slot's gap at
            // once left nginx without a replica for a second (measured: 14 077 502s in one run). A set's standby alias, its
            // upstream's backup server, covers that: with no slot left nginx reaches the old replicas (renamed aside, still
            // running) and the new ones under it, so every slot changes hands as soon as its successor is ready. Without a
            // standby (session affinity: nginx allows no backup server with hash or ip_hash) the first slot changes hands
            // alone, and the others only once nginx has resolved it: from then on that slot serves, whatever resolver tick
            // falls into the others' gaps (one wait, 3 s, not one per slot).
            // Where slots are network aliases (Podman) there is no gap: the old replica answers to the slot until it stops.
            var handOvers = _joining.Where(j => j.Old is not null && j.Routed).ToList();
            var settleFirst = observed.DnsFollowsRenames && handOvers.Count > 1 && handOvers.Any(j => !j.Standby);
            int? settled = null;
            foreach (var (name, cause, old, ready, _, routed) in _joining)
            {
                // Without a reload to wait for, a slot waits for its own replica only: edit-to-served is the first new
                // replica's readiness, not the last one's.
                List<int> gate = first.Count == 0 ? [ready] : allReady;
                List<int> after = [.. gate, .. _netDeps];
                if (old is not null)
                {
                    var temp = StackNames.Retiring(name, old.Id);
                    after.Add(_b.Add(StepKind.RetireContainer, name, cause, settled is { } s ? [.. gate, s] : gate, with: s => s with { RenameTo = temp }));
                    _retiring.Add((temp, "replaced"));
                }
                var join = _b.Add(StepKind.JoinUpstream, name, cause, after, with: s => s with
                {
                    RenameFrom = StackNames.Joining(name),
                    AliasNetwork = observed.DnsFollowsRenames ? null : StackNetworking.ContainerNetwork(model),
                    // Where nginx resolves slot names it may route to the new replica from its next lookup on, so an undo
                    // stops it only once nginx can have seen the slot given back; where it routes by address, only the
                    // commit's reload gives it the new replica's address.
                    Wait = _byAddress || !routed ? TimeSpan.Zero : StackNetworking.ResolverTime,
                });
                _ready.Add(join);
                _membershipChanges++;
                if (old is not null && settled is null && settleFirst)
                    settled = _b.Add(StepKind.AwaitResolver, model.ProxyName, $"let nginx resolve {name} before the other slots change hands", [join],
                        with: s => s with { Wait = StackNetworking.ResolverTime });
            }
            foreach (var surplus in _ours.Where(c => IsSurplus(c) && c.Replica is { } r && SetOf(c) is { } set && c.Name == set.AppName(r)).OrderByDescending(c => c.Replica))
            {
                var temp = StackNames.Retiring(surplus.Name, surplus.Id);
                _ready.Add(_b.Add(StepKind.RetireContainer, surplus.Name, SurplusCause(surplus), allReady, with: s => s with { RenameTo = temp }));
                _retiring.Add((temp, SurplusCause(surplus)));
                _handled.Add(surplus.Name);
                _membershipChanges++;
            }
        }

        /// <summary>
        /// A replica that is not one of the desired names: above its set's replica count, left from an interrupted replacement,
        /// or of a StackProject no longer declared.
        /// </summary>
        private bool IsSurplus(ObservedContainer c) =>
            c.Role == StackLabels.RoleApp && !(SetOf(c) is { } set && c.Replica <= set.Replicas && c.Name == set.AppName(c.Replica!.Value));

        /// <summary>The replica set a replica belongs to, by its project label; null for a StackProject no longer declared.</summary>
        private StackModel? SetOf(ObservedContainer c) => _sets.FirstOrDefault(s => s.ProjectKey == c.Project);

        /// <summary>Why a container goes: stepped aside by a replacement that was interrupted (its name says so), else <paramref name="otherwise"/>.</summary>
        private static string LeftoverCause(ObservedContainer c, string otherwise) =>
            c.Name.Contains("-retiring-", StringComparison.Ordinal) ? "left over from an interrupted replacement" : otherwise;

        private string SurplusCause(ObservedContainer c) => SetOf(c) is { } set
            ? set.AppOnHostPort > 0 ? "the app runs on this host (StackAppOnHost)"
            : $"replica {c.Replica} > {(set.ProjectKey.Length > 0 ? $"Replicas of {set.ProjectKey}" : "StackReplicas")} {set.Replicas}"
            : $"no longer a StackProject ({c.Project})";

        private string ReplaceCause(ObservedContainer existing, string appHash, string appImageId) =>
            !_netExists ? "network recreated"
            : existing.Label(StackLabels.ConfigHash) == appHash && !existing.Running ? "not running"
            : existing.Label(StackLabels.ConfigHash) == appHash ? $"not ready ({observed.UnreadyReplicas[existing.Name]})"
            : existing.Label(StackLabels.NetworkMode) is { } was && was != model.NetworkMode ? $"network mode {was} → {model.NetworkMode}"
            : existing.Label(StackLabels.ImageId) != appImageId ? "image changed" : "configuration changed";

        /// <summary>How replica <paramref name="replica"/> of <paramref name="set"/> is probed: its set's health probe, on its port.</summary>
        private static ReplicaCheck ReplicaCheck(StackModel set, int replica) =>
            new(StackNetworking.ContainerNetwork(set), StackNetworking.ProbeAddress(set), StackNetworking.ReplicaPort(set, replica), set.Health);

        private void CheckReplicaPort(StackModel set, string name, int replica)
        {
            if (_host && observed.BusyReplicaPorts.Contains(StackNetworking.ReplicaPort(set, replica)))
                Diagnostics.Add(Diagnostic.Error(nameof(Strings.ReplicaPortInUse), name, StackNetworking.ReplicaPort(set, replica)));
        }

        /// <summary>
        /// Phase 4: the proxy goes last, because nginx routes to the upstream set it is given. It is kept and reloaded in place when
        /// only the config or the replicas changed (open connections survive a reload), created when missing, and replaced —
        /// never removed before its successor serves — when its definition changed.
        /// </summary>
        public void PlanProxy()
        {
            var nginxBaseId = observed.ImageIds.GetValueOrDefault(model.NginxImage, model.NginxImage);
            var proxyHash = ProxyHash(model, nginxBaseId);
            _replicasChanged |= _ours.Any(IsSurplus);
            var proxy = _ours.FirstOrDefault(c => c.Name == model.ProxyName);
            var linksStale = model.Network.LinksReplicas && _replicasChanged;
            var spec = ContainerSpecs.Proxy(model, proxyImage, nginxBaseId, proxyHash);
            if (proxy is not null && _netExists && proxy.Running && proxy.Label(StackLabels.ConfigHash) == proxyHash && !linksStale)
            {
                if (_byAddress)
                {
                    // Slots are join-time aliases (Podman, a swarm node): nginx routes by address. Every slot changes hands
                    // first, then one graceful reload gives nginx the replicas' addresses (it checks the config first, so one it
                    // refuses undoes the hand-overs), and only then does anything leave. Also when nothing changes hands but
                    // the proxy holds other addresses or another config (restarted from its image, a replica's new address).
                    PlanMembership([]);
                    var routeCause = _membershipChanges > 0 ? "replicas changed"
                        : observed.ProxyConfigHash != ConfigHash.Of(NginxConfigWriter.RouteByAddress(proxyConfig, observed.SlotAddresses)) ? "configuration or replica addresses changed"
                        : null;
                    if (routeCause is null) Kept.Add(model.ProxyName);
                    else _commit = _b.Add(StepKind.ReloadProxy, model.ProxyName, routeCause, _ready, commit: true, with: RoutedByAddress);
                    return;
                }
                var configDiffers = observed.ProxyConfigHash != ConfigHash.Of(proxyConfig);
                if (_dns)
                {
                    // DNS membership: nginx sees slot names change hands once its resolver asks again; it reloads only for a
                    // changed config, and before any slot changes hands (a config it refuses then leaves every slot as it was).
                    if (configDiffers)
                        _commit = _b.Add(StepKind.ReloadProxy, model.ProxyName, "configuration changed", _ready, commit: true, with: s => s with { Config = proxyConfig });
                    PlanMembership(_commit is { } reload ? [reload] : []);
                    if (_membershipChanges > 0)
                        _resolved = _b.Add(StepKind.AwaitResolver, model.ProxyName, "let nginx resolve the changed replicas", _ready, commit: _commit is null,
                            with: s => s with { Wait = StackNetworking.ResolverTime });
                    _commit ??= _resolved;
                    if (_commit is null) Kept.Add(model.ProxyName);
                    return;
                }
                if ((_replicasChanged && !_dns) || configDiffers)
                    _commit = _b.Add(StepKind.ReloadProxy, model.ProxyName, _replicasChanged ? "replicas changed" : "configuration changed", _ready,
                        commit: true, with: s => s with { Config = proxyConfig });
                else Kept.Add(model.ProxyName);
                return;
            }

            PlanMembership([]);
            var cause = proxy is null ? "missing" : !_netExists ? "network recreated" : !proxy.Running ? "not running"
                : proxy.Label(StackLabels.ConfigHash) != proxyHash ? "definition changed" : "links changed";
            if (observed.BusyHostPort != 0)
            {
                // Checked before anything changes: a taken port leaves the running proxy serving.
                Diagnostics.Add(Diagnostic.Error(nameof(Strings.HostPortInUse), model.HostAddress, observed.BusyHostPort,
                    observed.BusyHostPort == model.HostPort ? "StackHostPort" : "StackHttpsPort"));
                return;
            }
            // A missing proxy with DNS membership starts while the replicas boot rather than once they are ready: nginx routes
            // only to slot names, which replicas take once ready, so until then it answers 502 where nothing answered before.
            // After the replicas' starts, because the engine starts containers one at a time (measured: started among four
            // replicas, it delayed the last one's readiness by more than it saved). Its wait, the commit step, still comes
            // after every replica took its slot, and reloads nginx so that it resolves them at once instead of at its next
            // resolver tick (unless its first passing answer proves it did already, see ProxyCheck.PassProvesResolved). Nothing
            // served before, so a failure removes it with the rest.
            var early = proxy is null && _dns && model.AppOnHostPort == 0;
            var deps = early ? _netDeps.Concat(_started).ToList() : _netDeps.Concat(_ready).ToList();
            if (proxy is null)
            {
                // A user's StackProxyConfig directives are checked with nginx -t before the proxy is created, so a mistake
                // in them is STACK4008 naming the file and line, not a proxy that exits.
                if (model.ProxyConfigs.Count > 0)
                    deps.Add(_b.Add(StepKind.CheckProxyConfig, model.ProxyName, cause, early ? deps.ToList() : _ready, ContainerSpecs.ConfigCheck(spec)));
            }
            else if (!proxy.Running || !_netExists)
            {
                // Not serving (or on a network that is gone): nothing to keep alive, remove it first.
                var stop = _b.Add(StepKind.StopContainer, model.ProxyName, cause, _ready);
                var removed = _b.Add(StepKind.RemoveContainer, model.ProxyName, cause, [stop]);
                deps.Add(removed);
                _oldProxyRemoved = removed;
            }
            else
            {
                // Serving: it steps aside under a temporary name. When the successor binds the same address and port, the old
                // one must stop first, so the new config is checked with nginx -t before that, and a failed successor starts
                // the old one again (the executor's undo). Otherwise both run side by side until the new one answers.
                _retiredProxy = StackNames.Retiring(model.ProxyName, proxy.Id);
                var sameBinding = proxy.Label(StackLabels.Publish) == ContainerSpecs.PublishLabel(model);
                var before = _ready.ToList();
                if (sameBinding) before = [_b.Add(StepKind.CheckProxyConfig, model.ProxyName, cause, _ready, ContainerSpecs.ConfigCheck(spec))];
                var retired = _retiredProxy;
                var retire = _b.Add(StepKind.RetireContainer, model.ProxyName, cause, before, with: s => s with { RenameTo = retired });
                deps.Add(sameBinding ? _b.Add(StepKind.StopContainer, _retiredProxy, cause, [retire], undoByStarting: true) : retire);
            }
            // The image the old proxy ran, when the proxy image was rebuilt since (a changed nginx.conf is baked into it): it goes
            // with the old proxy, as a replaced replica's does.
            if (proxy is { Image.Length: > 0 } && proxy.Image != proxyImage) _oldImages.Add(proxy.Image);
            // Early, routed by name, and no app container of ours there before (so every replica is new and joins): a slot
            // name that answers is this plan's new replica's. Then nginx is held until every slot name answers
            // (ProxyBuildContext.HoldScript), at most until the replicas' readiness would time out.
            var held = early && !_byAddress && !_ours.Any(c => c.Role == StackLabels.RoleApp);
            if (held) spec = ContainerSpecs.HeldUntilResolved(spec, JoiningSlots, observed.At.AddSeconds(model.ReadyTimeoutSeconds));
            var create = _b.Add(StepKind.CreateContainer, model.ProxyName, cause, deps, spec);
            var start = _b.Add(StepKind.StartContainer, model.ProxyName, cause, [create]);
            _commit = _b.Add(StepKind.WaitProxy, model.ProxyName, cause, early ? [start, .. _ready] : [start], commit: true,
                with: s => (_byAddress ? RoutedByAddress(s) : s) with
                {
                    Proxy = new ProxyCheck(StackNetworking.ContainerNetwork(model), model.ServedUrl, model.ProxyHealth, ResolveNow: early)
                    {
                        ProbeToken = model.ProbeToken,
                        // Its health path where the prefix is removed (the path each replica passed), else the prefix itself.
                        Routes = model.ServedProjects.Select(p => new HealthProbe(p.Route + (p.StripPrefix ? p.HealthPath : "/"), p.HealthStrict) { ReachesReplica = true }).ToList(),
                        Slots = early ? JoiningSlots : [],
                        PassProvesResolved = held && model.RoutedSets.All(set => set.Replicas == 1),
                        Held = held,
                    },
                });
        }

        /// <summary>
        /// Phase 5, after the commit point: what nginx no longer routes to leaves — retired and surplus replicas and a retired
        /// proxy after a drain, highest replica first — then app images no replica uses and a network the mode no longer needs.
        /// </summary>
        public void PlanRetirement()
        {
            var surplus = _ours
                .Where(c => IsSurplus(c) && !_handled.Contains(c.Name))
                .OrderByDescending(c => c.Replica ?? int.MaxValue).ThenBy(c => c.Name, StringComparer.Ordinal)
                .Select(c => (c.Name, Cause: LeftoverCause(c, SurplusCause(c))));
            // The proxy's role also marks the throwaway containers of a build (the nginx -t check, the version and user probes,
            // the probe relay): one left by a killed build goes here too. One made outside the stack lock is left to the build
            // that made it — a StackPublish or StackStatus running beside this StackUp, or a StackUp still before its lock —
            // until its in-use label's time.
            var leftoverProxies = _ours.Where(c => c.Role == StackLabels.RoleProxy && c.Name != model.ProxyName && !c.InUseAt(observed.At))
                .Select(c => (c.Name, Cause: LeftoverCause(c, "left over from an interrupted build")));
            // A backing container no longer declared, or left stepped aside by an interrupted run, goes after the commit point;
            // one replaced by this plan once its successor is ready too.
            var declared = model.Services.Select(sv => model.ServiceName(sv.Name)).ToHashSet(StringComparer.Ordinal);
            var undeclared = _ours.Where(c => c.Role == StackLabels.RoleService && !declared.Contains(c.Name))
                .Select(c => (c.Name, Cause: LeftoverCause(c, "no longer a StackContainer")));
            foreach (var (name, cause, successor) in _retiredServices)
                _b.Add(StepKind.RemoveContainer, name, cause, [.. _commit is { } k ? [k] : _ready, successor]);
            var leaving = _retiring.Concat(surplus).Concat(undeclared).ToList();
            if (_retiredProxy is not null) leaving.Insert(0, (_retiredProxy, "replaced"));
            leaving.AddRange(leftoverProxies);
            var removed = new List<int>();
            var proxies = leftoverProxies.Select(p => p.Name).Concat(_retiredProxy is null ? [] : [_retiredProxy]).ToHashSet();
            List<int> committed = _commit is { } c ? [c] : _ready;
            int? drain = null;
            foreach (var (name, cause) in leaving)
            {
                // With DNS membership a replica leaves nginx's upstream by its rename (nginx stops choosing it once its resolver
                // has seen that, the commit step), so its graceful stop only lets Kestrel finish what it already has. Everything
                // else waits until nginx has had time to finish in-flight requests after a reload — also a replica that leaves
                // where nginx routes by address (its reload is what took it out).
                // When a new or replaced proxy was the commit point, renamed replicas still wait until resolvers (an old proxy's
                // too) have seen the rename.
                List<int> after = !_dns || _byAddress || proxies.Contains(name) ? [drain ??= _b.Add(StepKind.Drain, model.ProxyName, "let in-flight requests finish", committed)]
                    : _membershipChanges == 0 ? committed
                    : [_resolved ??= _b.Add(StepKind.AwaitResolver, model.ProxyName, "let nginx resolve the changed replicas", committed,
                        with: s => s with { Wait = StackNetworking.ResolverTime })];
                var stop = _b.Add(StepKind.StopContainer, name, cause, after);
                removed.Add(_b.Add(StepKind.RemoveContainer, name, cause, [stop]));
            }
            // The engine refuses to remove an image another container still uses; the executor takes that refusal as done.
            foreach (var image in _oldImages)
                _b.Add(StepKind.RemoveImage, image, "no longer used by the stack", [.. removed.Count > 0 ? removed : _ready, .. _oldProxyRemoved is { } gone ? [gone] : Array.Empty<int>()]);
            // A network left from an earlier bridge-mode run: removed once nothing is attached to it any more.
            if (!StackNetworking.OwnsNetwork(model) && observed.Networks.FirstOrDefault(n => n.BelongsTo(model.Name)) is { } leftover)
                _b.Add(StepKind.RemoveNetwork, leftover.Name, $"not used in {model.NetworkMode} mode", removed.Concat(_commit is { } c2 ? [c2] : _ready));
        }
    }

    private sealed class PlanBuilder
    {
        private readonly List<PlanStep> _steps = [];

        /// <summary>Adds a step; <paramref name="with"/> sets its typed payload (what its kind needs to be executed).</summary>
        public int Add(StepKind kind, string resource, string cause, IEnumerable<int> dependsOn, ContainerSpec? spec = null,
            bool commit = false, bool undoByStarting = false, Func<PlanStep, PlanStep>? with = null)
        {
            var id = _steps.Count + 1;
            var step = new PlanStep(id, kind, resource, cause, dependsOn.Distinct().Order().ToList()) { Container = spec, IsCommit = commit, UndoByStarting = undoByStarting };
            _steps.Add(with?.Invoke(step) ?? step);
            return id;
        }

        public Plan Build() => new(_steps);
    }
}
