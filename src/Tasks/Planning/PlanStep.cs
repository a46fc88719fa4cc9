namespace ProxyStack.Planning;

/// <summary>One step of a plan.</summary>
/// <param name="Id">Position in the plan; <see cref="DependsOn"/> refers to these.</param>
/// <param name="Kind">What to do.</param>
/// <param name="Resource">The container, network or volume name it acts on.</param>
/// <param name="Cause">Why, in a few words ("missing", "image changed").</param>
/// <param name="DependsOn">Steps that must have succeeded first.</param>
internal sealed record PlanStep(int Id, StepKind Kind, string Resource, string Cause, IReadOnlyList<int> DependsOn)
{
    // Typed payloads: each kind carries everything its execution needs, so the executor executes and decides nothing.

    /// <summary>CreateContainer, CheckProxyConfig: the container to create.</summary>
    public ContainerSpec? Container { get; init; }
    /// <summary>CreateNetwork, CreateVolume: the labels it is created with.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    /// <summary>RetireContainer: the temporary name the container steps aside to (unique per container).</summary>
    public string? RenameTo { get; init; }
    /// <summary>JoinUpstream: the name the new replica has until it takes its slot's name (Resource).</summary>
    public string? RenameFrom { get; init; }
    /// <summary>ReloadProxy: the new nginx.conf; with <see cref="RouteByAddress"/> (also WaitProxy), the config it is rendered from.</summary>
    public string? Config { get; init; }
    /// <summary>
    /// ReloadProxy, WaitProxy, where the engine's DNS keeps join-time names (Podman, a swarm node): nginx is given
    /// <see cref="Config"/> with each of <see cref="Slots"/> replaced by the address its replica has on
    /// <see cref="AliasNetwork"/> when the step runs (<see cref="Proxy.NginxConfigWriter.RouteByAddress"/>) — a WaitProxy
    /// once the new proxy answers at all.
    /// </summary>
    public bool RouteByAddress { get; init; }
    /// <summary>WaitReady: how the replica is probed.</summary>
    public ReplicaCheck? Replica { get; init; }
    /// <summary>WaitService: the backing container's rule and port.</summary>
    public ServiceCheck? Service { get; init; }
    /// <summary>WaitProxy: the URL nginx serves and the probe through it.</summary>
    public ProxyCheck? Proxy { get; init; }
    /// <summary>The commit point: once it succeeded nginx may route to what this run created, so nothing before it is undone.</summary>
    public bool IsCommit { get; init; }
    /// <summary>For StopContainer before the commit point: undone by starting the container again (the old proxy).</summary>
    public bool UndoByStarting { get; init; }
    /// <summary>
    /// JoinUpstream, where the engine's DNS keeps join-time names (Podman, a swarm node): the network on which the slot name is
    /// also made the replica's network alias, by rejoining it (nothing but the probe has talked to it yet); null elsewhere.
    /// With <see cref="RouteByAddress"/>: the network on which <see cref="Slots"/>' replicas' addresses are read.
    /// </summary>
    public string? AliasNetwork { get; init; }
    /// <summary>With <see cref="RouteByAddress"/>: every slot name that serves (StackReplicas of each replica set); empty elsewhere.</summary>
    public IReadOnlyList<string> Slots { get; init; } = [];
    /// <summary>
    /// AwaitResolver: how long nginx's resolver is given to see the change (<see cref="Model.StackNetworking.ResolverTime"/>).
    /// JoinUpstream: how long nginx may still route to the new replica after an undo gave its slot name back; the undo of its
    /// creation stops it only then (zero where nginx routes by address: it never had the new replica's address before the commit).
    /// </summary>
    public TimeSpan Wait { get; init; }
    public string Describe() => $"{Kind switch
    {
        StepKind.CreateNetwork => "create network",
        StepKind.RetireContainer => "retire",
        StepKind.CreateContainer => "create",
        StepKind.StartContainer => "start",
        StepKind.WaitReady => "wait ready",
        StepKind.ReloadProxy => "reload",
        StepKind.WaitProxy => "wait proxy",
        StepKind.Drain => "drain",
        StepKind.StopContainer => "stop",
        StepKind.RemoveContainer => "remove",
        StepKind.RemoveNetwork => "remove network",
        StepKind.RemoveImage => "remove image",
        StepKind.CheckProxyConfig => "check config",
        StepKind.JoinUpstream => "join upstream",
        StepKind.AwaitResolver => "await resolver",
        StepKind.CreateVolume => "create volume",
        StepKind.RemoveVolume => "remove volume",
        StepKind.WaitService => "wait ready",
        _ => Kind.ToString(),
    }} {Resource}{(Kind == StepKind.RetireContainer ? " as " + RenameTo : "")}: {Cause}";

    public override string ToString() =>
        $"{Id,2}. {Describe()}{(DependsOn.Count > 0 ? " (after " + string.Join(",", DependsOn) + ")" : "")}";
}

/// <summary>A replica's readiness probe: on <paramref name="Network"/> at its own address (or <paramref name="Address"/>, loopback in host mode) and <paramref name="Port"/>.</summary>
internal sealed record ReplicaCheck(string Network, string? Address, int Port, Model.HealthProbe Health);

/// <summary>A backing container's readiness: its ReadyWhen rule, checked in the container (or on <paramref name="Port"/> on <paramref name="Network"/>).</summary>
internal sealed record ServiceCheck(string Network, Model.ReadyRule Rule, int Port);

/// <summary>
/// The proxy's readiness: <paramref name="Health"/> asked through <paramref name="Url"/> (and its container on
/// <paramref name="Network"/>), then each of <see cref="Routes"/> (every StackProject's prefix) in the same pass, so
/// that the bring-up returns only once every route nginx serves reaches a replica. <paramref name="ResolveNow"/>: nginx
/// started before the replicas took their slot names, so once it answers at all it is told to reload, which resolves them
/// at once instead of at its next resolver tick (up to 2 s).
/// </summary>
internal sealed record ProxyCheck(string Network, string Url, Model.HealthProbe Health, bool ResolveNow = false)
{
    /// <summary>The stack's <see cref="Model.StackModel.ProbeToken"/>: the probes' header value, which keeps them out of the access log.</summary>
    public string ProbeToken { get; init; } = "";
    /// <summary>Each StackProject's route: a path under <see cref="Url"/>, and what passes there.</summary>
    public IReadOnlyList<Model.HealthProbe> Routes { get; init; } = [];
    /// <summary>With <see cref="ResolveNow"/>: the slot names nginx is to resolve, which the engine's DNS must answer first.</summary>
    public IReadOnlyList<string> Slots { get; init; } = [];
    /// <summary>
    /// With <see cref="ResolveNow"/>: every upstream can resolve one slot name at most, a name only this plan's new replica
    /// ever held (one replica per set, no app container before). A first answer that passes every route then proves nginx
    /// already resolved them all (it started after the joins), and the reload is skipped. Never where nginx routes by address
    /// (Podman, a swarm node): there the reload is what gives it the addresses.
    /// </summary>
    public bool PassProvesResolved { get; init; }
    /// <summary>
    /// With <see cref="ResolveNow"/>: the proxy was created held until the engine's DNS answers every slot name (a name only
    /// this plan's new replicas ever held). When its log says the hold ended so (Proxy.ProxyBuildContext.HeldMark), nginx
    /// started after every join and its first lookups found them all, and the reload is skipped.
    /// </summary>
    public bool Held { get; init; }
}
