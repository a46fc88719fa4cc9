namespace ProxyStack.Planning;

/// <summary>A snapshot of the engine, taken once before planning. The reconciler reads only this.</summary>
internal sealed record ObservedState
{
    /// <summary>Containers labelled with the stack (any state), plus containers that merely carry one of its names.</summary>
    public IReadOnlyList<ObservedContainer> Containers { get; init; } = [];
    /// <summary>Networks labelled with the stack, plus a network that merely carries its name.</summary>
    public IReadOnlyList<ObservedNetwork> Networks { get; init; } = [];
    /// <summary>Volumes labelled with the stack, plus a volume that merely carries one of its names.</summary>
    public IReadOnlyList<ObservedVolume> Volumes { get; init; } = [];
    /// <summary>Image reference → image id, for the images the desired state names. Missing: not in the engine.</summary>
    public IReadOnlyDictionary<string, string> ImageIds { get; init; } = new Dictionary<string, string>();
    /// <summary>Hash of the nginx.conf inside the running proxy, or null when there is none.</summary>
    public string? ProxyConfigHash { get; init; }
    /// <summary>A host port the proxy needs (StackHostPort, StackHttpsPort) on the host address that something else listens on; 0: none.</summary>
    public int BusyHostPort { get; init; }
    /// <summary>StackAppOnHostPort when something already listens on it on loopback, where the app on the host will bind; 0: free or not used.</summary>
    public int BusyAppOnHostPort { get; init; }
    /// <summary>Host-mode replica ports that something other than the stack's own replica holds.</summary>
    public IReadOnlySet<int> BusyReplicaPorts { get; init; } = new HashSet<int>();
    /// <summary>
    /// Running app replicas of the stack that did not answer a readiness probe with the current health settings, with what
    /// they answered. A replica is only kept when it is proven ready now, not because it once was.
    /// </summary>
    public IReadOnlyDictionary<string, string> UnreadyReplicas { get; init; } = new Dictionary<string, string>();
    /// <summary>
    /// Running backing containers of the stack that did not pass one check of their ReadyWhen rule, with what was seen: an
    /// unchanged one is waited for again instead of being taken as ready because it once was.
    /// </summary>
    public IReadOnlyDictionary<string, string> UnreadyServices { get; init; } = new Dictionary<string, string>();
    /// <summary>
    /// How the engine's DNS names containers (asked only where replicas are reached by DNS). Where it keeps join-time names
    /// (Podman, a swarm node) replicas take their slots as network aliases, so a slot never goes unresolvable while it
    /// changes hands.
    /// </summary>
    public Engine.EngineDns Dns { get; init; } = Engine.EngineDns.FollowsRenames;

    /// <summary>
    /// Each running replica that holds its slot name (those <see cref="UnreadyReplicas"/> probes), with its address on the
    /// stack network as the probe found it. Where the engine's DNS keeps join-time names the proxy routes by address
    /// (<see cref="Proxy.NginxConfigWriter.RouteByAddress"/>), and the planner compares the config it should hold with the one
    /// it holds.
    /// </summary>
    public IReadOnlyDictionary<string, string> SlotAddresses { get; init; } = new Dictionary<string, string>();

    /// <summary>When the containers were listed, to tell a throwaway another build still uses (<see cref="ObservedContainer.InUseAt"/>).</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>Slots change hands by rename (<see cref="Dns"/> follows renames).</summary>
    public bool DnsFollowsRenames => Dns == Engine.EngineDns.FollowsRenames;
}

internal sealed record ObservedContainer(string Id, string Name, IReadOnlyDictionary<string, string> Labels, bool Running)
{
    /// <summary>The id of the image it runs (sha256:…); "" where the listing did not say.</summary>
    public string Image { get; init; } = "";
    public string? Label(string key) => Labels.TryGetValue(key, out var v) ? v : null;
    /// <summary>
    /// Whether ProxyStack created this container for <paramref name="stack"/>: the stack label, a known role, the owner label and,
    /// for replicas, a replica number — all set at creation. A container that merely inherited a stack label from an image
    /// lacks the owner and is not ours.
    /// </summary>
    public bool BelongsTo(string stack) => Label(StackLabels.Stack) == stack && Label(StackLabels.Owner) is { Length: > 0 }
        && (Role == StackLabels.RoleProxy || (Role == StackLabels.RoleApp && Replica is > 0) || (Role == StackLabels.RoleService && Service is { Length: > 0 }));
    public string? Owner => Label(StackLabels.Owner);
    public string? Role => Label(StackLabels.Role);
    public int? Replica => int.TryParse(Label(StackLabels.Replica), out var r) ? r : null;
    /// <summary>Whose replica this is: "" for the front project's, else the StackProject's name.</summary>
    public string Project => Label(StackLabels.Project) ?? "";
    /// <summary>A backing container's item name (StackContainer), or null.</summary>
    public string? Service => Label(StackLabels.Service);
    public string ShortId => Id[..Math.Min(12, Id.Length)];
    /// <summary>A throwaway the build that made it outside the stack lock may still be using at <paramref name="at"/> (<see cref="StackLabels.InUseUntil"/>).</summary>
    public bool InUseAt(DateTimeOffset at) =>
        long.TryParse(Label(StackLabels.InUseUntil), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var until)
        && until > at.ToUnixTimeSeconds();
}

internal sealed record ObservedNetwork(string Id, string Name, IReadOnlyDictionary<string, string> Labels)
{
    public bool BelongsTo(string stack) => Labels.GetValueOrDefault(StackLabels.Stack) == stack
        && Labels.GetValueOrDefault(StackLabels.Role) == StackLabels.RoleNetwork && Labels.GetValueOrDefault(StackLabels.Owner) is { Length: > 0 };
    public string? Owner => Labels.GetValueOrDefault(StackLabels.Owner);
}

internal sealed record ObservedVolume(string Name, IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>Created by ProxyStack for <paramref name="stack"/>: stack, role and owner labels, all set at creation.</summary>
    public bool BelongsTo(string stack) => Labels.GetValueOrDefault(StackLabels.Stack) == stack
        && Labels.GetValueOrDefault(StackLabels.Role) is StackLabels.RoleKeys or StackLabels.RoleData && Labels.GetValueOrDefault(StackLabels.Owner) is { Length: > 0 };
    public string? Owner => Labels.GetValueOrDefault(StackLabels.Owner);
}
