using ProxyStack.Planning;

namespace ProxyStack.Engine;

/// <summary>
/// The engine as ProxyStack needs it. Implementations translate driver errors: "not found" becomes null/false, an unreachable
/// engine becomes <see cref="EngineUnavailableException"/>, anything else the engine refuses becomes <see cref="EngineRequestException"/>.
/// </summary>
internal interface IContainerEngine
{
    /// <summary>Where requests go, for messages: "unix:///var/run/docker.sock".</summary>
    string Endpoint { get; }

    Task PingAsync(CancellationToken ct);

    /// <summary>One label-filtered listing of the stack (all states), plus any container or network holding one of <paramref name="names"/>.</summary>
    Task<(IReadOnlyList<ObservedContainer> Containers, IReadOnlyList<ObservedNetwork> Networks)> ListStackResourcesAsync(
        string stack, IReadOnlyCollection<string> names, CancellationToken ct);

    /// <summary>
    /// Image id (sha256:…), labels and the user its containers run as, as configured ("", "1654", "app:app"); null when the
    /// engine does not have it.
    /// </summary>
    Task<(string Id, IReadOnlyDictionary<string, string> Labels, string User)?> InspectImageAsync(string reference, CancellationToken ct);

    /// <summary>Pulls an image; a registry that refuses or cannot be reached is an <see cref="EngineRequestException"/>.</summary>
    Task PullImageAsync(string reference, CancellationToken ct);

    /// <summary>
    /// Removes an image by id unless something still holds it: a tag (a tag the stack's build moved on from is gone, so one
    /// that is left is someone's own, <c>docker tag</c>) or a container (never by force). Null when removed or already gone,
    /// else why it was kept ("tagged hello:good, not by this build").
    /// </summary>
    Task<string?> RemoveImageUnlessHeldAsync(string id, CancellationToken ct);

    /// <summary>Builds an image from a tar context with the classic builder; the base image is pulled when missing.</summary>
    Task BuildImageAsync(string tag, Stream context, IReadOnlyDictionary<string, string> labels, CancellationToken ct);

    Task CreateNetworkAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct);
    /// <summary>
    /// The host's address on the engine's default bridge — where a container's host-gateway leads — or null when the engine
    /// has no such network (or it has no IPv4 gateway).
    /// </summary>
    Task<string?> HostGatewayAsync(CancellationToken ct);
    /// <summary>
    /// Whether the engine runs rootless (its info's security options say so: rootless Docker, rootless Podman). Its containers'
    /// network lives in a namespace of its own (slirp4netns): the default bridge's gateway is there, not on this machine.
    /// </summary>
    Task<bool> IsRootlessAsync(CancellationToken ct);
    Task<bool> RemoveNetworkAsync(string name, CancellationToken ct);

    /// <summary>Volumes labelled with the stack, plus any volume named one of <paramref name="names"/>.</summary>
    Task<IReadOnlyList<ObservedVolume>> ListStackVolumesAsync(string stack, IReadOnlyCollection<string> names, CancellationToken ct);
    /// <summary>Creates a named volume; one of that name without these labels (made meanwhile by someone else) is a conflict.</summary>
    Task CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct);
    /// <summary>False when it does not exist; a volume in use is a conflict.</summary>
    Task<bool> RemoveVolumeAsync(string name, CancellationToken ct);

    /// <summary>Creates the container, then copies <see cref="ContainerSpec.Files"/> in and gives owned mounts to its user.</summary>
    Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct);
    Task StartContainerAsync(string name, CancellationToken ct);
    Task RenameContainerAsync(string name, string newName, CancellationToken ct);

    /// <summary>
    /// How the engine's DNS names containers: whether it answers to a container's new name after a rename (Docker's does), or
    /// keeps the names a container had when it joined the network (Podman's, and Docker's on a swarm node); there a replica
    /// takes its slot name in DNS as a network alias instead (<see cref="RejoinNetworkAsync"/>).
    /// </summary>
    Task<EngineDns> DnsAsync(CancellationToken ct);

    /// <summary>
    /// Disconnects a container from a network and connects it again with <paramref name="alias"/> as a DNS name there. Its
    /// connections on that network are cut, so only a replica no one sends requests to yet is rejoined.
    /// </summary>
    Task RejoinNetworkAsync(string name, string network, string alias, CancellationToken ct);
    /// <summary>SIGTERM (or the image's stop signal), then SIGKILL after <paramref name="timeout"/>.</summary>
    Task StopContainerAsync(string name, TimeSpan timeout, CancellationToken ct);
    Task<bool> RemoveContainerAsync(string name, CancellationToken ct);

    /// <summary>State, exit code and the container's address on <paramref name="network"/>; null when it does not exist.</summary>
    Task<ContainerStatus?> InspectContainerAsync(string name, string network, CancellationToken ct);

    Task<string> GetLogsAsync(string name, int tail, CancellationToken ct);
    /// <summary>Follows a container's output until <paramref name="ct"/> is cancelled, one call per line: all of it, or what it wrote from <paramref name="since"/> on.</summary>
    Task FollowLogsAsync(string name, Action<string> onLine, CancellationToken ct, DateTimeOffset? since = null);

    Task<(long ExitCode, string Output)> ExecAsync(string name, IReadOnlyList<string> command, CancellationToken ct);
    Task WriteFileAsync(string name, string path, string content, CancellationToken ct);
    /// <summary>A text file's content, or null when the container or file does not exist.</summary>
    Task<string?> ReadFileAsync(string name, string path, CancellationToken ct);
    /// <summary>
    /// A small text file of the image's own files in a container that need not have started (the archive endpoint, no exec);
    /// null when the file is missing.
    /// </summary>
    Task<string?> ReadImageFileAsync(string name, string path, CancellationToken ct);
}

internal sealed record ContainerStatus(string Id, bool Running, string State, long ExitCode, string? IpAddress, int RestartCount)
{
    /// <summary>Container port → the host port the engine published it on (while it runs).</summary>
    public IReadOnlyDictionary<int, int> PublishedPorts { get; init; } = new Dictionary<int, int>();
    /// <summary>The gateway of the network asked about: on a Linux engine, an address of the host's own bridge.</summary>
    public string? Gateway { get; init; }
}
