namespace ProxyStack.Planning;

internal enum StepKind
{
    CreateNetwork,
    /// <summary>Give a running replica a temporary name so its successor can take the real one (rolling replacement).</summary>
    RetireContainer,
    CreateContainer,
    StartContainer,
    WaitReady,
    ReloadProxy,
    WaitProxy,
    /// <summary>Let nginx's old workers finish in-flight requests before their upstreams are stopped.</summary>
    Drain,
    StopContainer,
    RemoveContainer,
    RemoveNetwork,
    /// <summary>Remove an app image that replaced replicas no longer use, so redeploys leave no dangling images.</summary>
    RemoveImage,
    /// <summary>Run nginx -t in a throwaway container of the new proxy image, before the old proxy has to stop for it.</summary>
    CheckProxyConfig,
    /// <summary>
    /// DNS membership: a ready replica is renamed from &lt;slot&gt;-joining to its slot name, which nginx resolves (RenameFrom: the
    /// joining name).
    /// </summary>
    JoinUpstream,
    /// <summary>DNS membership: wait until nginx's resolver has seen the slot names change hands (its answers are kept 1 s).</summary>
    AwaitResolver,
    /// <summary>Create a named volume with the stack's labels (the Data Protection key ring); undone by removing it.</summary>
    CreateVolume,
    /// <summary>Remove a named volume (StackDown with StackRemoveVolumes, or adoption).</summary>
    RemoveVolume,
    /// <summary>Wait until a backing container is ready by its ReadyWhen rule (Service: the rule and its port).</summary>
    WaitService,
}
