using ProxyStack.Model;

namespace ProxyStack.Manifests;

internal enum WorkloadKind { App, Proxy, Backing }

/// <summary>
/// One service of a stack as every manifest format describes it: a compose service, a Kubernetes Deployment and Service.
/// Built once from the model (<see cref="StackWorkloads"/>), so the formats cannot disagree on what the stack is.
/// </summary>
internal sealed record Workload
{
    public required string Name { get; init; }
    public required WorkloadKind Kind { get; init; }
    public required string Image { get; init; }
    public int Replicas { get; init; } = 1;
    /// <summary>The port it serves on inside its container (0: none known).</summary>
    public int Port { get; init; }
    /// <summary>Plain settings, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];
    /// <summary>Secret settings: values that go only into the target's secret store, never beside the plain ones.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Secrets { get; init; } = [];
    /// <summary>The app's readiness probe; null for the proxy and backing containers.</summary>
    public HealthProbe? Health { get; init; }
    /// <summary>Replaces the image's command; null: the image's own.</summary>
    public IReadOnlyList<string>? Command { get; init; }
    public IReadOnlyList<ServiceVolume> Volumes { get; init; } = [];
    /// <summary>The workloads it starts after, by name.</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];
    /// <summary>More names it is reached by (the proxy: each StackProject's).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>Published on the host (compose) or exposed by its Service as (Kubernetes): host port → container port.</summary>
    public IReadOnlyList<(int HostPort, int ContainerPort)> Publish { get; init; } = [];
    /// <summary>The replicas' and the proxy's hardening: no capabilities, no privilege gain (backing images need their own).</summary>
    public bool DropAllCapabilities { get; init; } = true;
    /// <summary>The proxy only: its unprivileged user, read-only root and the directories it writes to.</summary>
    public string? User { get; init; }
    public IReadOnlyList<string> Tmpfs { get; init; } = [];
    /// <summary>The proxy only: where its config file is mounted.</summary>
    public string? ConfigMountPath { get; init; }
}
