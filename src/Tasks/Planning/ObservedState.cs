namespace ProxyStack.Planning;

/// <summary>A snapshot of the engine, taken once before planning. The reconciler reads only this.</summary>
internal sealed record ObservedState
{
    /// <summary>Containers labelled with the stack (any state), plus containers that merely carry one of its names.</summary>
    public IReadOnlyList<ObservedContainer> Containers { get; init; } = [];
    /// <summary>Networks labelled with the stack, plus a network that merely carries its name.</summary>
    public IReadOnlyList<ObservedNetwork> Networks { get; init; } = [];
    /// <summary>Image reference → image id, for the images the desired state names. Missing: not in the engine.</summary>
    public IReadOnlyDictionary<string, string> ImageIds { get; init; } = new Dictionary<string, string>();
    /// <summary>Hash of the nginx.conf inside the running proxy, or null when there is none.</summary>
    public string? ProxyConfigHash { get; init; }
    /// <summary>The host address and port could not be bound: something is listening there.</summary>
    public bool HostPortBusy { get; init; }
    /// <summary>Host-mode replica ports that something other than the stack's own replica holds.</summary>
    public IReadOnlySet<int> BusyReplicaPorts { get; init; } = new HashSet<int>();
    /// <summary>The engine's operating system ("Debian GNU/Linux 12", "Docker Desktop"), for mode checks.</summary>
    public string EngineOperatingSystem { get; init; } = "";
}

internal sealed record ObservedContainer(string Id, string Name, IReadOnlyDictionary<string, string> Labels, bool Running)
{
    public string? Label(string key) => Labels.TryGetValue(key, out var v) ? v : null;
    public bool BelongsTo(string stack) => Label(StackLabels.Stack) == stack;
    public string? Role => Label(StackLabels.Role);
    public int? Replica => int.TryParse(Label(StackLabels.Replica), out var r) ? r : null;
    public string ShortId => Id[..Math.Min(12, Id.Length)];
}

internal sealed record ObservedNetwork(string Id, string Name, IReadOnlyDictionary<string, string> Labels)
{
    public bool BelongsTo(string stack) => Labels.TryGetValue(StackLabels.Stack, out var v) && v == stack;
}
