namespace ProxyStack.Planning;

/// <summary>One step of a plan.</summary>
/// <param name="Id">Position in the plan; <see cref="DependsOn"/> refers to these.</param>
/// <param name="Kind">What to do.</param>
/// <param name="Resource">The container, network or volume name it acts on.</param>
/// <param name="Cause">Why, in a few words ("missing", "image changed").</param>
/// <param name="DependsOn">Steps that must have succeeded first.</param>
internal sealed record PlanStep(int Id, StepKind Kind, string Resource, string Cause, IReadOnlyList<int> DependsOn)
{
    /// <summary>For CreateContainer: the container to create.</summary>
    public ContainerSpec? Container { get; init; }
    /// <summary>For ReloadProxy: the new nginx.conf. For RetireContainer: the temporary name.</summary>
    public string? Content { get; init; }
    /// <summary>The commit point: once it succeeded nginx may route to what this run created, so nothing before it is undone.</summary>
    public bool IsCommit { get; init; }
    /// <summary>For StopContainer before the commit point: undone by starting the container again (the old proxy).</summary>
    public bool UndoByStarting { get; init; }
    /// <summary>For WaitReady: the port the replica listens on (its own in host mode).</summary>
    public int ProbePort { get; init; }
    /// <summary>For WaitReady: what makes the replica ready (its replica set's health probe).</summary>
    public Model.HealthProbe? Probe { get; init; }
    /// <summary>
    /// For JoinUpstream, where the engine's DNS keeps join-time names (Podman): the slot name is also made the replica's
    /// network alias, by rejoining the network (nothing but the probe has talked to it yet).
    /// </summary>
    public bool AsAlias { get; init; }
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
    }} {Resource}{(Kind == StepKind.RetireContainer ? " as " + Content : "")}: {Cause}";

    public override string ToString() =>
        $"{Id,2}. {Describe()}{(DependsOn.Count > 0 ? " (after " + string.Join(",", DependsOn) + ")" : "")}";
}
