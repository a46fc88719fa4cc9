namespace ProxyStack.Planning;

/// <summary>Everything needed to create one container. Built by the reconciler; the engine only translates it.</summary>
internal sealed record ContainerSpec
{
    public required string Name { get; init; }
    public required string Image { get; init; }
    public required string Network { get; init; }
    public required IReadOnlyDictionary<string, string> Labels { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];
    /// <summary>Host publishing, e.g. 127.0.0.1:8080 → 8080/tcp (host port 0: one the engine picks). Empty: nothing published (app replicas).</summary>
    public IReadOnlyList<PortBinding> Publish { get; init; } = [];
    /// <summary>Anonymous volumes (removed with the container): where <see cref="Files"/> go on a read-only root.</summary>
    public IReadOnlyList<string> Volumes { get; init; } = [];
    /// <summary>Named volumes mounted into the container (the app's shared key ring).</summary>
    public IReadOnlyList<VolumeMount> Mounts { get; init; } = [];
    /// <summary>Files copied in after creation and before start (the proxy's TLS files).</summary>
    public IReadOnlyList<ContainerFile> Files { get; init; } = [];
    /// <summary>Restart policy name: "unless-stopped" brings a crashed replica back.</summary>
    public string RestartPolicy { get; init; } = "unless-stopped";
    /// <summary>Command replacing the image's (null: the image's own). Used for the throwaway nginx -t check container.</summary>
    public IReadOnlyList<string>? Command { get; init; }
    /// <summary>User to run as instead of the image's (null: the image's own). The probe relay runs nginx's base image unprivileged.</summary>
    public string? User { get; init; }
    /// <summary>Hardening for the proxy: read-only root filesystem with tmpfs at these paths.</summary>
    public IReadOnlyList<string> ReadOnlyRootWithTmpfs { get; init; } = [];
    /// <summary>
    /// "uid:gid" that owns those tmpfs mounts (mode 0700), for a container whose image runs as that user; null: world-writable
    /// with the sticky bit. Ownership, not a mode, because Docker 20.10 forgets a tmpfs's mode= when it brings a container back
    /// after the engine restarted (the directory returns as root's 0755 and nginx, unprivileged, can no longer write its
    /// config: a restart loop), while uid= and gid= survive. Example: 65534:65534
    /// </summary>
    public string? TmpfsOwner { get; init; }
    /// <summary>Capabilities dropped (ALL for both roles) — none is needed: every process runs unprivileged on ports above 1023.</summary>
    public bool DropAllCapabilities { get; init; } = true;
    /// <summary>Most processes and threads the container may run.</summary>
    public int PidsLimit { get; init; }
    /// <summary>More DNS names on <see cref="Network"/> (a backing container's item name: "cache").</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];
    /// <summary>More /etc/hosts entries ("name:address", address may be host-gateway): the proxy's way to the app on the host.</summary>
    public IReadOnlyList<string> ExtraHosts { get; init; } = [];
    /// <summary>Legacy links ("name:alias"), link mode's proxy only.</summary>
    public IReadOnlyList<string> Links { get; init; } = [];
}

internal sealed record PortBinding(string HostAddress, int HostPort, int ContainerPort);

/// <summary>
/// A named volume at <paramref name="Target"/>. With <paramref name="OwnedByContainerUser"/>, the volume's root is given to
/// the user the container runs as (mode 0700) after creation and before start: a new volume's root belongs to root, and an
/// app running as its own user (the .NET images' app, 1654) could not write there.
/// </summary>
internal sealed record VolumeMount(string Source, string Target, bool OwnedByContainerUser)
{
    /// <summary>
    /// Files of the image copied into the volume when it has none of that name yet (the app's SQLite files, see
    /// Model.FileDatabase), owned by the container's user, mode 0600. Needs <see cref="OwnedByContainerUser"/>.
    /// </summary>
    public IReadOnlyList<VolumeSeed> Seeds { get; init; } = [];
}

/// <summary>A file of the image, <paramref name="From"/> relative to the image's working directory, copied into a volume as <paramref name="Name"/>.</summary>
internal sealed record VolumeSeed(string From, string Name);

/// <summary>
/// A file for <see cref="ContainerSpec.Files"/>, owned by user and group <paramref name="Owner"/> (numeric, as the engine keeps
/// the tar's ownership). <see cref="ToString"/> never shows the content (it may be a private key).
/// </summary>
internal sealed record ContainerFile(string Path, string Content, UnixFileMode Mode, int Owner)
{
    public override string ToString() => $"{Path} ({Content.Length} characters)";
}
