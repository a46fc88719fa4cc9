namespace ProxyStack.Planning;

/// <summary>Everything needed to create one container. Built by the reconciler; the engine only translates it.</summary>
internal sealed record ContainerSpec
{
    public required string Name { get; init; }
    public required string Image { get; init; }
    public required string Network { get; init; }
    public required IReadOnlyDictionary<string, string> Labels { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];
    /// <summary>Host publishing, e.g. 127.0.0.1:8080 → 80/tcp. Null: nothing published (app replicas).</summary>
    public PortBinding? Publish { get; init; }
    /// <summary>Restart policy name: "unless-stopped" brings a crashed replica back.</summary>
    public string RestartPolicy { get; init; } = "unless-stopped";
    /// <summary>Command replacing the image's (null: the image's own). Used for the throwaway nginx -t check container.</summary>
    public IReadOnlyList<string>? Command { get; init; }
    /// <summary>Hardening for the proxy: read-only root filesystem with tmpfs at these paths.</summary>
    public IReadOnlyList<string> ReadOnlyRootWithTmpfs { get; init; } = [];
    /// <summary>Capabilities dropped (ALL for both roles) — none is needed: every process runs unprivileged on ports above 1023.</summary>
    public bool DropAllCapabilities { get; init; } = true;
    /// <summary>Most processes and threads the container may run.</summary>
    public int PidsLimit { get; init; }
    /// <summary>Legacy links ("name:alias"), link mode's proxy only.</summary>
    public IReadOnlyList<string> Links { get; init; } = [];
}

internal sealed record PortBinding(string HostAddress, int HostPort, int ContainerPort);
