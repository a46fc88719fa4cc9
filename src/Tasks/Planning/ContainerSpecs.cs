using System.Globalization;
using ProxyStack.Model;
using ProxyStack.Proxy;

namespace ProxyStack.Planning;

/// <summary>
/// The containers ProxyStack creates, as specs: labels set at creation (ownership is never inherited from an image), the image
/// by id (never a tag a concurrent build could move), and the hardening every container gets.
/// </summary>
internal static class ContainerSpecs
{
    /// <summary>
    /// A crashed container comes back by itself (nginx skips a replica meanwhile). A kept stack also comes back after an engine
    /// restart (unless-stopped); a `dotnet run` stack does not (on-failure: the engine restarts it after a crash only).
    /// </summary>
    public static string RestartPolicy(StackModel model) => model.Ephemeral ? "on-failure" : "unless-stopped";
    /// <summary>Bumped when the hardening of containers changes, so existing proxies are replaced to get it.</summary>
    public const int HardeningVersion = 1;
    /// <summary>Processes and threads one replica may have: far above what Kestrel uses, low enough to stop a fork bomb.</summary>
    public const int AppPidsLimit = 2048;
    public const int ProxyPidsLimit = 256;
    /// <summary>Where nginx may write on its otherwise read-only root: temp files and the pid, and the live config.</summary>
    public static readonly IReadOnlyList<string> ProxyTmpfs = ["/tmp", Path.GetDirectoryName(NginxConfigWriter.ConfigPath)!.Replace('\\', '/')];

    public static ContainerSpec App(StackModel model, string name, int replica, string imageId, string hash)
    {
        var labels = Labels(model, StackLabels.RoleApp);
        labels[StackLabels.Replica] = replica.ToString(CultureInfo.InvariantCulture);
        labels[StackLabels.ConfigHash] = hash;
        labels[StackLabels.ImageId] = imageId;
        if (model.ProjectKey.Length > 0) labels[StackLabels.Project] = model.ProjectKey;
        return new ContainerSpec
        {
            Name = name, Image = imageId, Network = StackNetworking.ContainerNetwork(model), Labels = labels,
            // From creation on: nginx reaches the set under it only while no slot resolves (StackNetworking.Standby).
            Aliases = StackNetworking.Standby(model) is { } standby ? [standby] : [],
            Environment = StackNetworking.ReplicaEnvironment(model, replica), RestartPolicy = RestartPolicy(model), PidsLimit = AppPidsLimit,
            Mounts = [
                .. model.SharedKeys ? [new VolumeMount(model.KeysVolumeName, model.KeyRingDirectory, OwnedByContainerUser: true)] : Array.Empty<VolumeMount>(),
                .. model.Databases.Count > 0 ? [DataMount(model)] : Array.Empty<VolumeMount>(),
            ],
        };
    }

    /// <summary>The replica set's database volume, seeded with the image's files (see <see cref="FileDatabase"/>).</summary>
    public static VolumeMount DataMount(StackModel model) => new(model.DataVolumeName, FileDatabases.Directory, OwnedByContainerUser: true)
    {
        Seeds = model.Databases.Select(d => new VolumeSeed(d.File, d.VolumeFile)).DistinctBy(s => s.Name).ToList(),
    };

    /// <summary>
    /// A backing container (StackContainer): on the stack's network under its item name, published only when HostPort asks
    /// (on StackHostAddress, loopback by default). Hardened like the replicas except for capabilities: the public database
    /// images start as root and hand their data directory to their own user (chown, setuid), which needs the engine's default set.
    /// </summary>
    public static ContainerSpec Service(StackModel model, BackingService service, string imageId, string hash)
    {
        var labels = Labels(model, StackLabels.RoleService);
        labels[StackLabels.Service] = service.Name;
        labels[StackLabels.ConfigHash] = hash;
        labels[StackLabels.ImageId] = imageId;
        return new ContainerSpec
        {
            Name = model.ServiceName(service.Name), Image = imageId, Network = StackNetworking.ContainerNetwork(model), Labels = labels,
            Aliases = [service.Name],
            Environment = service.Environment,
            Command = service.Command.Count > 0 ? service.Command : null,
            Publish = service.HostPort > 0 ? [new PortBinding(model.HostAddress, service.HostPort, service.Port)] : [],
            Mounts = service.Volumes.Select(v => new VolumeMount(v.Name, v.Target, OwnedByContainerUser: false)).ToList(),
            RestartPolicy = RestartPolicy(model),
            DropAllCapabilities = false,
            PidsLimit = AppPidsLimit,
        };
    }

    public static ContainerSpec Proxy(StackModel model, string image, string baseId, string hash)
    {
        var labels = Labels(model, StackLabels.RoleProxy);
        labels[StackLabels.ConfigHash] = hash;
        labels[StackLabels.ImageId] = baseId;
        labels[StackLabels.Publish] = PublishLabel(model);
        return new ContainerSpec
        {
            Name = model.ProxyName, Image = image, Network = StackNetworking.ContainerNetwork(model), Labels = labels,
            // In host mode nginx binds StackHostAddress:StackHostPort (and StackHttpsPort) itself; there is nothing to publish.
            Publish = model.Network.OnHostNetwork ? [] : model.HttpsPort == 0
                ? [new PortBinding(model.HostAddress, model.HostPort, NginxConfigWriter.ContainerPort)]
                : [new PortBinding(model.HostAddress, model.HostPort, NginxConfigWriter.ContainerPort), new PortBinding(model.HostAddress, model.HttpsPort, NginxConfigWriter.ContainerHttpsPort)],
            // The certificate and key never enter an image: they are copied into an anonymous volume of this container only
            // (owned by nginx's user, 0600) and removed with it.
            Volumes = model.Tls is null ? [] : [NginxConfigWriter.TlsDirectory],
            Files = model.Tls is not { } tls ? [] :
            [
                new ContainerFile(NginxConfigWriter.TlsDirectory + "/cert.pem", tls.CertificatePem, UnixFileMode.UserRead | UnixFileMode.UserWrite, NginxConfigWriter.UserId),
                new ContainerFile(NginxConfigWriter.TlsDirectory + "/key.pem", tls.KeyPem, UnixFileMode.UserRead | UnixFileMode.UserWrite, NginxConfigWriter.UserId),
            ],
            Links = StackNetworking.ProxyLinks(model),
            ExtraHosts = StackNetworking.ProxyExtraHosts(model),
            // StackProjects are reached through nginx under their own names (services__api__http__0=http://api:8080).
            Aliases = model.ProxyAliases,
            RestartPolicy = RestartPolicy(model),
            ReadOnlyRootWithTmpfs = ProxyTmpfs,
            TmpfsOwner = NginxConfigWriter.User,
            PidsLimit = ProxyPidsLimit,
        };
    }

    /// <summary>
    /// A fresh proxy held before nginx starts until the engine's DNS answers every one of <paramref name="names"/>, at most
    /// until <paramref name="until"/> (see <see cref="ProxyStack.Proxy.ProxyBuildContext.HoldScript"/>, which reads these variables).
    /// </summary>
    public static ContainerSpec HeldUntilResolved(ContainerSpec proxy, IEnumerable<string> names, DateTimeOffset until) => proxy with
    {
        Environment =
        [
            .. proxy.Environment,
            new(ProxyStack.Proxy.ProxyBuildContext.HoldForVariable, string.Join(' ', names)),
            new(ProxyStack.Proxy.ProxyBuildContext.HoldUntilVariable, until.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ],
    };

    /// <summary>
    /// A throwaway copy of the proxy that only runs nginx -t on the config baked into the new image: same image, network and
    /// links (so upstream names resolve as they will), nothing published, never restarted.
    /// </summary>
    public static ContainerSpec ConfigCheck(ContainerSpec proxy) => proxy with
    {
        Name = proxy.Name + "-check",
        Publish = [],
        // Never reachable under a project's name: it only checks the config and exits.
        Aliases = [],
        RestartPolicy = "no",
        Command = ["sh", "-c", $"{NginxConfigWriter.WriteResolverScript} && exec nginx -t -q -c {NginxConfigWriter.BakedConfigPath}"],
    };

    /// <summary>
    /// A throwaway container of the nginx base image that only prints its version (it runs outside the stack lock, made at
    /// <paramref name="made"/>).
    /// </summary>
    public static ContainerSpec NginxVersionProbe(StackModel model, string baseImage, DateTimeOffset made) => Throwaway(model, $"{model.ProxyName}-version", baseImage, made) with
    {
        Command = ["nginx", "-v"],
        PidsLimit = ProxyPidsLimit,
    };

    /// <summary>
    /// A container of an app image that is only created, never started, for its own /etc/passwd and /etc/group to be read (an
    /// image's user by name). StackPublish makes it, outside the stack lock, at <paramref name="made"/>.
    /// </summary>
    public static ContainerSpec UserProbe(StackModel model, string image, DateTimeOffset made) => Throwaway(model, $"{model.ProxyName}-user", image, made);

    /// <summary>
    /// A one-off container of a build, made outside the stack lock: no network, never restarted, a unique name after
    /// <paramref name="prefix"/>. It carries the proxy's labels — a replica's would need a slot, and a container of neither is
    /// not the stack's — so one left by an interrupted build is removed with the stack, and by a StackUp once its
    /// <see cref="StackLabels.InUseUntil"/> has passed.
    /// </summary>
    private static ContainerSpec Throwaway(StackModel model, string prefix, string image, DateTimeOffset made) => new()
    {
        Name = $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}",
        Image = image,
        Network = "none",
        Labels = OutsideTheLock(Labels(model, StackLabels.RoleProxy), model, made),
        RestartPolicy = "no",
    };

    /// <summary>
    /// A throwaway made outside the stack lock at <paramref name="made"/> is its build's until this label's time: longer than
    /// any such container lives (the version probe's run is bounded by StackReadyTimeout, a user probe's reads and a status
    /// check's probes take seconds), short enough that one a killed build left goes with a StackUp a few minutes later.
    /// </summary>
    private static Dictionary<string, string> OutsideTheLock(Dictionary<string, string> labels, StackModel model, DateTimeOffset made)
    {
        labels[StackLabels.InUseUntil] = (made + TimeSpan.FromSeconds(model.ReadyTimeoutSeconds) + ThrowawayGrace).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        return labels;
    }

    /// <summary>What a throwaway made outside the stack lock is given beyond StackReadyTimeout before a StackUp takes it for left over.</summary>
    public static readonly TimeSpan ThrowawayGrace = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The probe relay (see <see cref="Execution.ProbeRelay"/>): nginx's base image as nginx's unprivileged user, on the stack's
    /// network, published on loopback at a port the engine picks, never restarted, a unique name. Its config holds the token,
    /// readable by its user only. It carries the proxy's labels, so one left by a killed build is removed with the stack. A
    /// bring-up makes it under the stack lock; StackStatus outside it, at <paramref name="madeOutsideTheLock"/>.
    /// </summary>
    public static ContainerSpec ProbeRelay(StackModel model, string image, string token, DateTimeOffset? madeOutsideTheLock) => new()
    {
        Name = $"{model.ProxyName}-relay-{Guid.NewGuid().ToString("N")[..8]}",
        Image = image,
        Network = StackNetworking.ContainerNetwork(model),
        Labels = madeOutsideTheLock is { } made ? OutsideTheLock(Labels(model, StackLabels.RoleProxy), model, made) : Labels(model, StackLabels.RoleProxy),
        Publish = [new PortBinding(ProbeRelayConfig.LoopbackHost, 0, ProbeRelayConfig.ContainerPort)],
        Files = [new ContainerFile(ProbeRelayConfig.Path, ProbeRelayConfig.Write(token), UnixFileMode.UserRead, NginxConfigWriter.UserId)],
        User = NginxConfigWriter.User,
        RestartPolicy = "no",
        Command = ["nginx", "-e", "stderr", "-c", ProbeRelayConfig.Path],
        PidsLimit = ProxyPidsLimit,
    };

    /// <summary>
    /// The host network check (see <see cref="Execution.HostNetworkCheck"/>): nginx's base image as nginx's unprivileged user on
    /// the engine's host network, listening on loopback; never restarted, a unique name, the proxy's labels (so one left by a
    /// killed build goes with the stack).
    /// </summary>
    public static ContainerSpec HostNetworkCheck(StackModel model, string image, string configPath, string config) => new()
    {
        Name = $"{model.ProxyName}-hostnet-{Guid.NewGuid().ToString("N")[..8]}",
        Image = image,
        Network = StackNetworking.HostNetwork,
        Labels = Labels(model, StackLabels.RoleProxy),
        Files = [new ContainerFile(configPath, config, UnixFileMode.UserRead, NginxConfigWriter.UserId)],
        User = NginxConfigWriter.User,
        RestartPolicy = "no",
        Command = ["nginx", "-e", "stderr", "-c", configPath],
        PidsLimit = ProxyPidsLimit,
    };

    /// <summary>What the proxy holds on the host: "127.0.0.1:8080" (published, or bound by nginx itself in host mode).</summary>
    public static string PublishLabel(StackModel model) => $"{model.HostAddress}:{model.HostPort.ToString(CultureInfo.InvariantCulture)}"
        + (model.HttpsPort > 0 ? $",{model.HostAddress}:{model.HttpsPort.ToString(CultureInfo.InvariantCulture)}" : "");

    private static Dictionary<string, string> Labels(StackModel model, string role)
    {
        var labels = Reconciler.Labels(model, role);
        labels[StackLabels.NetworkMode] = model.NetworkMode;
        return labels;
    }
}
