using System.Net;
using System.Net.Sockets;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using ProxyStack.Planning;
using ContainerSpec = ProxyStack.Planning.ContainerSpec;

namespace ProxyStack.Engine;

/// <summary>
/// <see cref="IContainerEngine"/> over Docker.DotNet: the only file that uses its types. It sends no fixed API version, so the
/// daemon answers with its own (1.41 on Debian's engine). Driver errors are translated here and nowhere else.
/// </summary>
internal sealed partial class DockerEngine : IContainerEngine, IDisposable
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);
    private readonly DockerClient _client;

    /// <summary>
    /// Volumes given to a container user by this engine object (one task's run): by volume, image, user and mount point. The
    /// replicas of a set share the key ring volume, their image and its user, so only the first replica's creation asks the
    /// engine; the others wait for it. Each archive request costs the engine a process of its own (about 0.15 s of CPU), and
    /// giving a volume away takes two or three of them. A failed attempt is forgotten, so the next creation tries again.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Volume, string Image, string User, string Target), Lazy<Task>> _volumesGiven = new();

    private static readonly TimeSpan PullTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Throws <see cref="EngineEndpointException"/> for an endpoint that cannot be used. Without <paramref name="endpoint"/> the
    /// engine is found as the docker CLI finds it (see <see cref="EngineEndpoint"/>).
    /// </summary>
    public DockerEngine(string? endpoint = null, bool preferPodman = false)
    {
        Choice = EngineEndpoint.Resolve(endpoint, EngineEndpoint.Machine.Current, preferPodman);
        var uri = Choice.Uri;
        Endpoint = uri.ToString();
        try
        {
            _client = new DockerClientBuilder().WithEndpoint(uri).Build();
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidOperationException or UriFormatException)
        {
            throw new EngineEndpointException(Endpoint, e.Message);
        }
    }

    public string Endpoint { get; }

    /// <summary>The endpoint and where it came from (DOCKER_HOST, a context, a well-known socket).</summary>
    public EngineEndpoint.Choice Choice { get; }

    public void Dispose() => _client.Dispose();

    public async Task PingAsync(CancellationToken ct)
    {
        if (Endpoint.StartsWith("unix://", StringComparison.Ordinal) && !File.Exists(Endpoint["unix://".Length..]))
            throw new EngineUnavailableException(Endpoint, Choice.Tried.Count == 0 ? $"the socket of {Choice.Source} does not exist"
                : $"no engine socket found; looked for {string.Join(", ", Choice.Tried)}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(PingTimeout);
        try
        {
            await _client.System.PingAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new EngineUnavailableException(Endpoint, $"no answer within {PingTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new EngineUnavailableException(Endpoint, Describe(e), e);
        }
    }

    public async Task<(IReadOnlyList<ObservedContainer> Containers, IReadOnlyList<ObservedNetwork> Networks)> ListStackResourcesAsync(
        string stack, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        var labelFilter = $"{StackLabels.Stack}={stack}";
        var containers = new Dictionary<string, ObservedContainer>();
        // The four listings overlap: they are independent, and an engine under load answers each slowly.
        var byLabelTask = Call("list containers", () => _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [labelFilter] = true } },
        }, ct));
        var byNameTask = names.Count == 0 ? Task.FromResult<IList<ContainerListResponse>>([]) : Call("list containers", () => _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = names.ToDictionary(n => $"^/{n}$", _ => true) },
        }, ct));
        var netsByLabelTask = Call("list networks", () => _client.Networks.ListNetworksAsync(new NetworksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [labelFilter] = true } },
        }, ct));
        var netsByNameTask = names.Count == 0 ? Task.FromResult<IList<NetworkResponse>>([]) : Call("list networks", () => _client.Networks.ListNetworksAsync(new NetworksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = names.ToDictionary(n => n, _ => true) },
        }, ct));
        var byLabel = await byLabelTask.ConfigureAwait(false);
        var byName = await byNameTask.ConfigureAwait(false);
        foreach (var c in byLabel.Concat(byName))
            containers[c.ID] = new ObservedContainer(c.ID, c.Names.FirstOrDefault()?.TrimStart('/') ?? c.ID,
                (IReadOnlyDictionary<string, string>?)c.Labels ?? new Dictionary<string, string>(), c.State == "running") { Image = c.ImageID ?? "" };

        var networks = new Dictionary<string, ObservedNetwork>();
        var netsByLabel = await netsByLabelTask.ConfigureAwait(false);
        var netsByName = await netsByNameTask.ConfigureAwait(false);
        // The name filter matches substrings; keep exact names only.
        foreach (var n in netsByLabel.Concat(netsByName.Where(n => names.Contains(n.Name))))
            networks[n.ID] = new ObservedNetwork(n.ID, n.Name, (IReadOnlyDictionary<string, string>?)n.Labels ?? new Dictionary<string, string>());
        return (containers.Values.OrderBy(c => c.Name, StringComparer.Ordinal).ToList(), networks.Values.OrderBy(n => n.Name, StringComparer.Ordinal).ToList());
    }

    public Task<(string Id, IReadOnlyDictionary<string, string> Labels, string User)?> InspectImageAsync(string reference, CancellationToken ct) =>
        CallOrMissing<(string, IReadOnlyDictionary<string, string>, string)?>("inspect image " + reference, async () =>
        {
            var image = await _client.Images.InspectImageAsync(reference, ct).ConfigureAwait(false);
            return (image.ID, (IReadOnlyDictionary<string, string>?)image.Config?.Labels ?? new Dictionary<string, string>(), image.Config?.User ?? "");
        }, null);

    public async Task PullImageAsync(string reference, CancellationToken ct)
    {
        var image = Model.ImageReference.Parse(reference) ?? throw new EngineRequestException("pull " + reference, "invalid reference", conflict: false);
        var progress = new ErrorCollector();
        var name = (image.Registry is null ? "" : image.Registry + "/") + image.Repository;
        await Bounded("pull " + reference, PullTimeout, t => _client.Images.CreateImageAsync(new ImagesCreateParameters
        {
            FromImage = name,
            Tag = image.Digest ?? image.Tag ?? "latest",
        }, null, progress, t), ct).ConfigureAwait(false);
        if (progress.Errors is { } errors) throw new EngineRequestException("pull " + reference, errors, conflict: false);
    }

    public async Task<string?> RemoveImageUnlessHeldAsync(string id, CancellationToken ct)
    {
        try
        {
            return await CallOrMissing<string?>("remove image " + id, async () =>
            {
                // Deleting by id takes every tag of the image's repository with it, so the tags are asked first.
                var image = await _client.Images.InspectImageAsync(id, ct).ConfigureAwait(false);
                var tags = (image.RepoTags ?? []).Where(t => t != "<none>:<none>").ToList();
                if (tags.Count > 0) return $"tagged {string.Join(", ", tags)}, not by this build";
                await _client.Images.DeleteImageAsync(id, new ImageDeleteParameters { Force = false }, ct).ConfigureAwait(false);
                return null;
            }, null).ConfigureAwait(false);
        }
        catch (EngineRequestException e) when (e.IsConflict)
        {
            return e.Reason;
        }
    }

    public async Task BuildImageAsync(string tag, Stream context, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        var progress = new ErrorCollector();
        await Bounded("build image " + tag, BuildTimeout, t => _client.Images.BuildImageFromDockerfileAsync(new ImageBuildParameters
        {
            Tags = [tag],
            Labels = labels.ToDictionary(),
            Remove = true,
            ForceRemove = true,
        }, context, null, null, progress, t), ct).ConfigureAwait(false);
        if (progress.Errors is { } errors) throw new EngineRequestException("build image " + tag, errors, conflict: false);
    }

    public async Task<bool> IsRootlessAsync(CancellationToken ct) =>
        (await InfoAsync(ct).ConfigureAwait(false)).SecurityOptions?.Any(o => o.Split(',').Contains("name=rootless", StringComparer.Ordinal)) == true;

    private Task<SystemInfoResponse>? _info;

    /// <summary>The engine's info, asked once per engine instance (one task's run) however many questions it answers.</summary>
    private Task<SystemInfoResponse> InfoAsync(CancellationToken ct) => _info ??= Call("read the engine's info", () => _client.System.GetSystemInfoAsync(ct));

    public Task<string?> HostGatewayAsync(CancellationToken ct) =>
        // Docker's default bridge is "bridge"; Podman's default network is "podman".
        CallOrMissing<string?>("inspect the default bridge network", async () =>
        {
            foreach (var name in new[] { "bridge", "podman" })
            {
                try
                {
                    var net = await _client.Networks.InspectNetworkAsync(name, ct).ConfigureAwait(false);
                    if (net.IPAM?.Config?.Select(c => Ipv4Gateway(c.Gateway, c.Subnet)).FirstOrDefault(g => g is not null) is { } gateway)
                        return gateway;
                }
                catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound) { }
            }
            return null;
        }, null);

    /// <summary>
    /// A bridge's IPv4 gateway: the one its IPAM config names, or else, where the engine leaves it out (seen on Docker 20.10
    /// when docker0 already had its address as dockerd started: only the subnet is listed), the bridge driver's default —
    /// the subnet's first host address. Null for IPv6 and for text that is not an address.
    /// </summary>
    internal static string? Ipv4Gateway(string? gateway, string? subnet)
    {
        if (System.Net.IPAddress.TryParse(gateway, out var ip))
            return ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? ip.ToString() : null;
        if (!string.IsNullOrEmpty(gateway) || !System.Net.IPNetwork.TryParse(subnet, out var network)
            || network.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || network.PrefixLength > 30) return null;
        var bytes = network.BaseAddress.GetAddressBytes();
        bytes[3]++;
        return new System.Net.IPAddress(bytes).ToString();
    }

    /// <summary>
    /// Engines before API 1.44 allow two networks of one name, and the driver no longer sends CheckDuplicate. Two concurrent
    /// bring-ups on one engine (the per-machine lock cannot see another machine) could each create "&lt;stack&gt;-net", after
    /// which every use of the name is ambiguous. So after creating, look: whoever sees more than one removes all but the
    /// winner (the oldest, then the lowest id), and fails as a conflict when its own was not the winner. The engine may commit
    /// the two creations in either order, so only the one that sees both decides; it is enough that one does.
    /// </summary>
    public async Task CreateNetworkAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        var created = await Create("create network " + name, t => _client.Networks.CreateNetworkAsync(new NetworksCreateParameters
        {
            Name = name,
            Driver = "bridge",
            Labels = labels.ToDictionary(),
        }, t), ct).ConfigureAwait(false);
        var same = (await Call("list networks", () => _client.Networks.ListNetworksAsync(new NetworksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [name] = true } },
        }, ct)).ConfigureAwait(false)).Where(n => n.Name == name).ToList();
        if (same.Count < 2) return;
        var winner = same.OrderBy(n => n.Created).ThenBy(n => n.ID, StringComparer.Ordinal).First();
        foreach (var loser in same.Where(n => n.ID != winner.ID))
        {
            try
            {
                await CallOrMissing("remove network " + name, async () => { await _client.Networks.DeleteNetworkAsync(loser.ID, ct).ConfigureAwait(false); return true; }, false).ConfigureAwait(false);
            }
            catch (EngineRequestException) { } // in use already: its bring-up will meet the conflict itself
        }
        if (winner.ID != created.ID)
            throw new EngineRequestException("create network " + name, "another bring-up created a network of this name at the same moment; run StackUp again", conflict: true);
    }

    public Task<bool> RemoveNetworkAsync(string name, CancellationToken ct) =>
        CallOrMissing("remove network " + name, async () =>
        {
            await _client.Networks.DeleteNetworkAsync(name, ct).ConfigureAwait(false);
            return true;
        }, false);

    public async Task<IReadOnlyList<ObservedVolume>> ListStackVolumesAsync(string stack, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        var byLabel = await Call("list volumes", () => _client.Volumes.ListAsync(new VolumesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{StackLabels.Stack}={stack}"] = true } },
        }, ct)).ConfigureAwait(false);
        var byName = names.Count == 0 ? null : await Call("list volumes", () => _client.Volumes.ListAsync(new VolumesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = names.ToDictionary(n => n, _ => true) },
        }, ct)).ConfigureAwait(false);
        // The name filter matches substrings; keep exact names only.
        return (byLabel.Volumes ?? []).Concat((byName?.Volumes ?? []).Where(v => names.Contains(v.Name)))
            .GroupBy(v => v.Name, StringComparer.Ordinal).Select(g => g.First())
            .Select(v => new ObservedVolume(v.Name, (IReadOnlyDictionary<string, string>?)v.Labels ?? new Dictionary<string, string>()))
            .OrderBy(v => v.Name, StringComparer.Ordinal).ToList();
    }

    public async Task CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        // The engine answers a create of an existing name with that volume, labels and all: one made meanwhile by someone
        // else shows as a volume without ours, and is never taken.
        var volume = await Create("create volume " + name, t => _client.Volumes.CreateAsync(new VolumesCreateParameters
        {
            Name = name,
            Driver = "local",
            Labels = labels.ToDictionary(),
        }, t), ct).ConfigureAwait(false);
        if (volume.Labels is null || labels.Any(l => !volume.Labels.TryGetValue(l.Key, out var v) || v != l.Value))
            throw new EngineRequestException("create volume " + name, "a volume of this name was created meanwhile by someone else; ProxyStack leaves it alone", conflict: true);
    }

    public Task<bool> RemoveVolumeAsync(string name, CancellationToken ct) =>
        CallOrMissing("remove volume " + name, async () =>
        {
            await _client.Volumes.RemoveAsync(name, force: false, ct).ConfigureAwait(false);
            return true;
        }, false);

    /// <summary>Mount options of a hardened container's tmpfs (see <see cref="ContainerSpec.TmpfsOwner"/>).</summary>
    internal static string TmpfsOptions(string? owner) => owner?.Split(':') is [var uid, var gid] && uint.TryParse(uid, out _) && uint.TryParse(gid, out _)
        ? $"rw,nosuid,nodev,uid={uid},gid={gid},mode=0700,size=64m"
        : "rw,nosuid,nodev,mode=1777,size=64m";

    public async Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct)
    {
        var host = new HostConfig
        {
            NetworkMode = spec.Network,
            RestartPolicy = new RestartPolicy
            {
                Name = spec.RestartPolicy switch
                {
                    "unless-stopped" => RestartPolicyKind.UnlessStopped,
                    "on-failure" => RestartPolicyKind.OnFailure,
                    _ => RestartPolicyKind.No,
                },
            },
            Links = spec.Links.ToList(),
            ExtraHosts = spec.ExtraHosts.ToList(),
            // Hardening (see ContainerSpecs): no privilege gain through setuid binaries, no capabilities, bounded processes
            // and logs. Ports below 1024 need no capability in a container (the engine sets ip_unprivileged_port_start=0).
            SecurityOpt = ["no-new-privileges:true"],
            CapDrop = spec.DropAllCapabilities ? ["ALL"] : [],
            PidsLimit = spec.PidsLimit > 0 ? spec.PidsLimit : null,
            LogConfig = new LogConfig { Type = "json-file", Config = new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" } },
            Mounts = spec.Mounts.Select(m => new Mount { Type = "volume", Source = m.Source, Target = m.Target }).ToList(),
            ReadonlyRootfs = spec.ReadOnlyRootWithTmpfs.Count > 0,
            Tmpfs = spec.ReadOnlyRootWithTmpfs.ToDictionary(p => p, _ => TmpfsOptions(spec.TmpfsOwner)),
        };
        var parameters = new CreateContainerParameters
        {
            Name = spec.Name,
            Image = spec.Image,
            Labels = spec.Labels.ToDictionary(),
            Env = spec.Environment.Select(e => $"{e.Key}={e.Value}").ToList(),
            Cmd = spec.Command?.ToList()!,
            User = spec.User ?? "",
            HostConfig = host,
        };
        if (spec.Publish.Count > 0)
        {
            parameters.ExposedPorts = spec.Publish.ToDictionary(p => $"{p.ContainerPort}/tcp", _ => default(EmptyStruct));
            host.PortBindings = spec.Publish.ToDictionary(p => $"{p.ContainerPort}/tcp", p => (IList<Docker.DotNet.Models.PortBinding>)
                [new Docker.DotNet.Models.PortBinding { HostIP = p.HostAddress, HostPort = p.HostPort == 0 ? "" : p.HostPort.ToString(System.Globalization.CultureInfo.InvariantCulture) }]);
        }
        if (spec.Volumes.Count > 0) parameters.Volumes = spec.Volumes.ToDictionary(v => v, _ => default(EmptyStruct));
        if (spec.Aliases.Count > 0)
            parameters.NetworkingConfig = new NetworkingConfig { EndpointsConfig = new Dictionary<string, EndpointSettings> { [spec.Network] = new() { Aliases = spec.Aliases.ToList() } } };
        CreateContainerResponse response;
        try
        {
            response = await Create("create container " + spec.Name, t => _client.Containers.CreateContainerAsync(parameters, t), ct).ConfigureAwait(false);
        }
        catch (EngineRequestException e) when (host.Tmpfs.Count > 0 && e.Message.Contains("uid=", StringComparison.Ordinal))
        {
            // Podman knows no uid=/gid= tmpfs option (and has no mode-forgetting restart either): world-writable with the sticky
            // bit there. Asked of the engine by its answer, not guessed from its name.
            host.Tmpfs = spec.ReadOnlyRootWithTmpfs.ToDictionary(p => p, _ => TmpfsOptions(null));
            response = await Create("create container " + spec.Name, t => _client.Containers.CreateContainerAsync(parameters, t), ct).ConfigureAwait(false);
        }
        // Into the container's anonymous volume (the engine refuses a read-only root; the target folder must be the volume
        // itself). The engine keeps the tar's numeric ownership; its copyUIDGID option is avoided, since engine 20.10 looks a
        // "uid:gid" user up by name and fails.
        foreach (var folder in spec.Files.GroupBy(f => f.Path[..f.Path.LastIndexOf('/')]))
        {
            using var tar = Proxy.ProxyBuildContext.CreateFilesTar(folder);
            await Call("copy files into " + spec.Name, () => _client.Containers.ExtractArchiveToContainerAsync(response.ID,
                new CopyToContainerParameters { Path = folder.Key }, tar, ct)).ConfigureAwait(false);
        }
        foreach (var mount in spec.Mounts.Where(m => m.OwnedByContainerUser))
        {
            var key = (mount.Source, spec.Image, spec.User ?? "", mount.Target);
            var given = _volumesGiven.GetOrAdd(key, _ => new Lazy<Task>(() => GiveToContainerUserAsync(response.ID, spec.Name, mount, ct)));
            try
            {
                await given.Value.WaitAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                _volumesGiven.TryRemove(KeyValuePair.Create(key, given));
                throw;
            }
        }
        return response.ID;
    }

    /// <summary>
    /// Gives a mounted volume's root to the user the container runs as, mode 0700, before the container starts: a directory
    /// entry with that owner and mode, extracted over the mount point, sets them on the volume itself. The user is resolved
    /// from the container's own passwd and group files when it is a name (see <see cref="ContainerUser"/>).
    /// A user given by number (the .NET SDK's images run as "1654") whose volume root already is its own, as the previous
    /// bring-up left it (the volume outlives its containers), is left as it is: one archive read of the mount point's own entry
    /// instead of two archive requests (reading /etc/passwd, writing the entry), each ~130 ms on Docker 20.10 — the owner is
    /// checked, never assumed.
    /// </summary>
    private async Task GiveToContainerUserAsync(string id, string name, VolumeMount mount, CancellationToken ct)
    {
        var target = mount.Target;
        var inspect = await Call("inspect container " + name, () => _client.Containers.InspectContainerAsync(id, ct)).ConfigureAwait(false);
        var user = inspect.Config?.User ?? "";
        var owner = ContainerUser.Numeric(user) is { } numeric
            ? await ReadContainerEntryAsync<(int, int)?>(id, target, e => e.EntryType == System.Formats.Tar.TarEntryType.Directory
                && ContainerUser.Owns(numeric, e.Uid, e.Gid, e.Mode) ? (e.Uid, e.Gid) : null, ct).ConfigureAwait(false)
            : null;
        if (owner is not { } given)
        {
            given = await ContainerUser.ResolveAsync(user, path => ReadImageFileAsync(id, path, ct)).ConfigureAwait(false)
                ?? throw new EngineRequestException($"prepare {target} in {name}", $"the container's user '{user}' is not in its /etc/passwd", conflict: false);
            var parent = target[..target.LastIndexOf('/')];
            using var tar = Proxy.ProxyBuildContext.CreateDirectoryTar(target[(target.LastIndexOf('/') + 1)..], given.Item1, given.Item2, ContainerUser.PrivateMode);
            await Call($"prepare {target} in {name}", () => _client.Containers.ExtractArchiveToContainerAsync(id,
                new CopyToContainerParameters { Path = parent.Length == 0 ? "/" : parent }, tar, ct)).ConfigureAwait(false);
        }
        var workingDirectory = inspect.Config?.WorkingDir is { Length: > 0 } wd ? wd.TrimEnd('/') : "";
        foreach (var seed in mount.Seeds)
            await SeedAsync(id, name, target, workingDirectory + "/" + seed.From, seed.Name, given, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies the image's file <paramref name="from"/> into the volume at <paramref name="target"/> as <paramref name="file"/>,
    /// owned by the container's user, mode 0600 — unless the volume has that file already (what the replicas wrote is never
    /// replaced) or the image has none (the app then makes its own).
    /// </summary>
    private async Task SeedAsync(string id, string name, string target, string from, string file, (int Uid, int Gid) owner, CancellationToken ct)
    {
        if (await ReadContainerEntryAsync(id, $"{target}/{file}", _ => true, ct).ConfigureAwait(false)) return;
        var data = await ReadContainerEntryAsync(id, from, e =>
        {
            if (e.EntryType is not (System.Formats.Tar.TarEntryType.RegularFile or System.Formats.Tar.TarEntryType.V7RegularFile) || e.DataStream is null) return null;
            using var copy = new MemoryStream();
            e.DataStream.CopyTo(copy);
            return copy.ToArray();
        }, ct).ConfigureAwait(false);
        if (data is null) return;
        using var tar = Proxy.ProxyBuildContext.CreateFileTar(file, data, owner.Uid, owner.Gid, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await Call($"copy {from} into {target} in {name}", () => _client.Containers.ExtractArchiveToContainerAsync(id,
            new CopyToContainerParameters { Path = target }, tar, ct)).ConfigureAwait(false);
    }

    public Task<string?> ReadImageFileAsync(string id, string path, CancellationToken ct) =>
        ReadContainerEntryAsync(id, path, entry =>
        {
            if (entry.DataStream is null) return null;
            using var text = new StreamReader(entry.DataStream);
            return text.ReadToEnd();
        }, ct);

    /// <summary>
    /// What <paramref name="read"/> makes of the first entry of a path's archive (the path itself: a file with its data, copied
    /// into memory, or a directory's own entry); default when the path is missing. The rest is not read.
    /// </summary>
    private async Task<T?> ReadContainerEntryAsync<T>(string id, string path, Func<System.Formats.Tar.TarEntry, T?> read, CancellationToken ct)
    {
        var archive = await CallOrMissing<ContainerArchiveResponse?>("read " + path, () =>
            _client.Containers.GetArchiveFromContainerAsync(id, new ContainerPathStatParameters { Path = path }, false, ct)!, null).ConfigureAwait(false);
        if (archive?.Stream is not { } stream) return default;
        using var _ = stream;
        using var reader = new System.Formats.Tar.TarReader(stream);
        return await reader.GetNextEntryAsync(copyData: true, ct).ConfigureAwait(false) is { } entry ? read(entry) : default;
    }

    public Task StartContainerAsync(string name, CancellationToken ct) =>
        Call("start container " + name, () => _client.Containers.StartContainerAsync(name, new ContainerStartParameters(), ct));

    public Task RenameContainerAsync(string name, string newName, CancellationToken ct) =>
        Call($"rename container {name} to {newName}", () => _client.Containers.RenameContainerAsync(name, new ContainerRenameParameters { NewName = newName }, ct));

    /// <summary>
    /// Podman names itself among /version's components ("Podman Engine"), and its DNS (aardvark-dns, or CNI's dnsname) keeps
    /// a container's join-time names — `podman rename` documents that a running container may not see a rename's effects
    /// until it restarts. Docker's embedded DNS does the same once the engine is a swarm node (measured on Docker 20.10: after
    /// `swarm init` a renamed container no longer resolves by its new name on a plain bridge network, and replicas taking
    /// their slots by rename left nginx with no live upstream). A rename-and-resolve probe would cost two containers per run.
    /// </summary>
    public async Task<EngineDns> DnsAsync(CancellationToken ct)
    {
        var version = Call("read the engine version", () => _client.System.GetVersionAsync(ct));
        var swarm = SwarmStateAsync(ct);
        if ((await version.ConfigureAwait(false)).Components?.Any(c => c.Name?.Contains("Podman", StringComparison.OrdinalIgnoreCase) == true) == true)
            return EngineDns.JoinTimeNames;
        return (await swarm.ConfigureAwait(false)).State is "active" or "pending" ? EngineDns.SwarmNode : EngineDns.FollowsRenames;
    }

    public async Task RejoinNetworkAsync(string name, string network, string alias, CancellationToken ct)
    {
        await Call($"disconnect {name} from {network}", () => _client.Networks.DisconnectNetworkAsync(network,
            new NetworkDisconnectParameters { Container = name, Force = true }, ct)).ConfigureAwait(false);
        await Call($"connect {name} to {network} as {alias}", () => _client.Networks.ConnectNetworkAsync(network,
            new NetworkConnectParameters { Container = name, EndpointConfig = new EndpointSettings { Aliases = [alias] } }, ct)).ConfigureAwait(false);
    }

    public Task StopContainerAsync(string name, TimeSpan timeout, CancellationToken ct) =>
        CallOrMissing("stop container " + name, async () =>
        {
            await _client.Containers.StopContainerAsync(name, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)timeout.TotalSeconds }, ct).ConfigureAwait(false);
            return true;
        }, false);

    public Task<bool> RemoveContainerAsync(string name, CancellationToken ct) =>
        CallOrMissing("remove container " + name, async () =>
        {
            // With its anonymous volumes (the proxy's TLS files): nothing of a removed container stays on the engine's disk.
            try
            {
                await _client.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, ct).ConfigureAwait(false);
            }
            catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.Conflict && (ExtractMessage(e.ResponseBody) ?? e.Message).Contains("already in progress", StringComparison.OrdinalIgnoreCase))
            {
                // Someone else's removal of it is under way (a `dotnet run` killed while retiring a replica: the engine goes on
                // with the request it had). Ours is done when theirs is; a removal that never finishes stays an error.
                await WaitUntilGoneAsync(name, e, ct).ConfigureAwait(false);
            }
            return true;
        }, false);

    private async Task WaitUntilGoneAsync(string name, DockerApiException conflict, CancellationToken ct)
    {
        for (var deadline = DateTime.UtcNow + RemovalInProgressLimit; DateTime.UtcNow < deadline;)
        {
            await Task.Delay(200, ct).ConfigureAwait(false);
            try { await _client.Containers.InspectContainerAsync(name, ct).ConfigureAwait(false); }
            catch (Exception e) when (IsNotFound(e)) { return; }
        }
        throw conflict;
    }

    /// <summary>How long a removal someone else started may take before ours reports it as not done.</summary>
    private static readonly TimeSpan RemovalInProgressLimit = TimeSpan.FromSeconds(30);

    public Task<ContainerStatus?> InspectContainerAsync(string name, string network, CancellationToken ct) =>
        CallOrMissing<ContainerStatus?>("inspect container " + name, async () =>
        {
            var c = await _client.Containers.InspectContainerAsync(name, ct).ConfigureAwait(false);
            string? ip = null, gateway = null;
            if (c.NetworkSettings?.Networks is { } nets && nets.TryGetValue(network, out var endpoint) && !string.IsNullOrEmpty(endpoint.IPAddress))
                (ip, gateway) = (endpoint.IPAddress, string.IsNullOrEmpty(endpoint.Gateway) ? null : endpoint.Gateway);
            // Host ports the engine published (one picked by the engine shows only once the container runs).
            var published = new Dictionary<int, int>();
            foreach (var (key, bindings) in c.NetworkSettings?.Ports ?? new Dictionary<string, IList<Docker.DotNet.Models.PortBinding>>())
                if (int.TryParse(key.Split('/')[0], out var containerPort) && bindings?.FirstOrDefault(b => int.TryParse(b.HostPort, out _)) is { } b)
                    published[containerPort] = int.Parse(b.HostPort, System.Globalization.CultureInfo.InvariantCulture);
            return new ContainerStatus(c.ID, c.State?.Running ?? false, c.State?.Status ?? "unknown", c.State?.ExitCode ?? 0, ip, (int)c.RestartCount)
            {
                PublishedPorts = published,
                Gateway = gateway,
            };
        }, null);

    public async Task<string> GetLogsAsync(string name, int tail, CancellationToken ct)
    {
        try
        {
            using var stream = await _client.Containers.GetContainerLogsAsync(name, new ContainerLogsParameters
            {
                ShowStdout = true,
                ShowStderr = true,
                Tail = tail.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, ct).ConfigureAwait(false);
            var (stdout, stderr) = await stream.ReadOutputToEndAsync(ct).ConfigureAwait(false);
            return (stdout + stderr).TrimEnd();
        }
        catch (DockerApiException) { return "(no logs available)"; }
    }

    public async Task FollowLogsAsync(string name, Action<string> onLine, CancellationToken ct, DateTimeOffset? since = null)
    {
        using var stream = await Call("follow logs of " + name, () => _client.Containers.GetContainerLogsAsync(name, new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Follow = true,
            Tail = "all",
            // Seconds and nanoseconds, as the docker CLI sends it.
            Since = since is { } from ? $"{from.ToUnixTimeSeconds()}.{from.UtcTicks % TimeSpan.TicksPerSecond * 100:D9}" : null,
        }, ct)).ConfigureAwait(false);
        var buffer = new byte[8192];
        var pending = new StringBuilder();
        while (!ct.IsCancellationRequested)
        {
            var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, ct).ConfigureAwait(false);
            if (read.EOF) break;
            pending.Append(Encoding.UTF8.GetString(buffer, 0, read.Count));
            var text = pending.ToString();
            var last = text.LastIndexOf('\n');
            if (last < 0) continue;
            foreach (var line in text[..last].Split('\n')) onLine(line.TrimEnd('\r'));
            pending.Clear().Append(text[(last + 1)..]);
        }
        if (pending.Length > 0) onLine(pending.ToString());
    }

    public async Task<(long ExitCode, string Output)> ExecAsync(string name, IReadOnlyList<string> command, CancellationToken ct)
    {
        var (exit, stdout, stderr) = await ExecRawAsync(name, command, ct).ConfigureAwait(false);
        return (exit, (stdout + stderr).Trim());
    }

    /// <summary>
    /// Written through exec, not the archive endpoint: the proxy's config lives on a tmpfs (its root is read-only), and the
    /// archive endpoint writes beneath tmpfs mounts. The content is an argument of printf, never parsed by the shell.
    /// </summary>
    public async Task WriteFileAsync(string name, string path, string content, CancellationToken ct)
    {
        var (exit, _, stderr) = await ExecRawAsync(name, ["sh", "-c", "printf '%s' \"$1\" > \"$0\"", path, content], ct).ConfigureAwait(false);
        if (exit != 0) throw new EngineRequestException($"write {path} in {name}", stderr.Trim(), conflict: false);
    }

    /// <summary>Read through exec for the same reason as <see cref="WriteFileAsync"/>; null when the container or file is missing.</summary>
    public async Task<string?> ReadFileAsync(string name, string path, CancellationToken ct)
    {
        // A container that is missing, stopped or restarting refuses exec: its config is unknown, which plans a reload or a
        // replacement.
        try
        {
            var (exit, stdout, _) = await ExecRawAsync(name, ["cat", path], ct).ConfigureAwait(false);
            return exit == 0 ? stdout : null;
        }
        catch (EngineRequestException)
        {
            return null;
        }
    }

    private async Task<(long ExitCode, string Stdout, string Stderr)> ExecRawAsync(string name, IReadOnlyList<string> command, CancellationToken ct)
    {
        var exec = await Call("exec in " + name, () => _client.Exec.CreateContainerExecAsync(name, new ContainerExecCreateParameters
        {
            Cmd = command.ToList(),
            AttachStdout = true,
            AttachStderr = true,
        }, ct)).ConfigureAwait(false);
        using var stream = await Call("exec in " + name, () => _client.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), ct)).ConfigureAwait(false);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(ct).ConfigureAwait(false);
        var inspect = await Call("exec in " + name, () => _client.Exec.InspectContainerExecAsync(exec.ID, ct)).ConfigureAwait(false);
        return (inspect.ExitCode ?? -1, stdout, stderr);
    }

    /// <summary>Like <see cref="Call{T}"/>, but "not found" (no such container, image, network or file) is an answer, not an error.</summary>
    private async Task<T> CallOrMissing<T>(string operation, Func<Task<T>> call, T whenMissing)
    {
        try { return await call().ConfigureAwait(false); }
        catch (Exception e) when (IsNotFound(e)) { return whenMissing; }
        catch (DockerApiException e) { throw Refused(operation, e); }
        catch (Exception e) when (e is not OperationCanceledException and not EngineRequestException) { throw Unavailable(e); }
    }

    /// <summary>The engine's "no such container, image, network or file".</summary>
    private static bool IsNotFound(Exception e) =>
        e is DockerContainerNotFoundException or DockerImageNotFoundException || e is DockerApiException { StatusCode: HttpStatusCode.NotFound };

    private async Task Call(string operation, Func<Task> call)
    {
        try { await call().ConfigureAwait(false); }
        catch (DockerApiException e) { throw Refused(operation, e); }
        catch (Exception e) when (e is not OperationCanceledException and not EngineRequestException) { throw Unavailable(e); }
    }

    private async Task<T> Call<T>(string operation, Func<Task<T>> call)
    {
        try { return await call().ConfigureAwait(false); }
        catch (DockerApiException e) { throw Refused(operation, e); }
        catch (Exception e) when (e is not OperationCanceledException and not EngineRequestException) { throw Unavailable(e); }
    }

    /// <summary>How long a create is let finish after its caller was cancelled, before it is abandoned after all.</summary>
    private static readonly TimeSpan AbandonCreateAfter = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A create (container, network, volume) that the engine carries out even when its client goes away: dockerd does not
    /// stop a create when the connection closes, so a request cancelled in flight (Ctrl-C) could leave a resource made after
    /// the caller's undo had looked for it. The request is let finish instead — for <see cref="AbandonCreateAfter"/> at most
    /// after a cancellation — and the cancellation is honoured once the engine has answered: what it made is there for the undo
    /// to find. A caller cancelled before the request is sent sends none.
    /// </summary>
    private async Task<T> Create<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var request = new CancellationTokenSource();
        T result;
        using (ct.Register(() => request.CancelAfter(AbandonCreateAfter)))
            result = await Call(operation, () => call(request.Token)).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        return result;
    }

    /// <summary>A long engine operation (pull, build) with a time limit of its own: past it, a refusal that says so.</summary>
    private async Task Bounded(string operation, TimeSpan limit, Func<CancellationToken, Task> call, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(limit);
        try
        {
            await Call(operation, () => call(timeout.Token)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new EngineRequestException(operation, $"did not finish within {limit.TotalMinutes:0} minutes", conflict: false);
        }
    }

    private static EngineRequestException Refused(string operation, DockerApiException e) =>
        new(operation, ExtractMessage(e.ResponseBody) ?? e.Message, e.StatusCode == HttpStatusCode.Conflict, e);

    private EngineUnavailableException Unavailable(Exception e) => new(Endpoint, Describe(e), e);

    private static string Describe(Exception e) => e switch
    {
        HttpRequestException { InnerException: SocketException s } => s.Message,
        SocketException s => s.Message,
        _ when e.InnerException is { } inner => Describe(inner),
        _ => e.Message,
    };

    private static string? ExtractMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("message", out var m) ? m.GetString() : body.Trim();
        }
        catch (System.Text.Json.JsonException) { return body.Trim(); }
    }

    /// <summary>Collects the error lines of a pull or build stream synchronously (Progress&lt;T&gt; would post them later).</summary>
    private sealed class ErrorCollector : IProgress<JSONMessage>
    {
        private readonly StringBuilder _errors = new();
        public string? Errors => _errors.Length == 0 ? null : _errors.ToString().Trim();
        public void Report(JSONMessage value)
        {
            if (value.Error is { Message.Length: > 0 }) lock (_errors) _errors.AppendLine(value.Error.Message);
        }
    }
}
