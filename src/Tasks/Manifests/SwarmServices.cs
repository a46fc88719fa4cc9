using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Docker.DotNet.Models;
using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;

namespace ProxyStack.Manifests;

/// <summary>
/// A stack as Docker Swarm services (pure): the same workloads as every manifest (<see cref="StackWorkloads"/>), on an overlay
/// network of the stack's own, each a replicated service that updates start-first and rolls back on failure; nginx's config a
/// Swarm config object named by its content. Ownership is the label <see cref="StackLabel"/>, set at creation on services,
/// configs and the network only — never on task containers, so this machine's StackUp and StackDown never see them.
/// </summary>
internal static class SwarmServices
{
    /// <summary>The Swarm stack a service, config or network belongs to (a key of its own: local stacks use proxystack.stack).</summary>
    public const string StackLabel = "proxystack.swarm-stack";
    /// <summary>The digest of a service's spec as ProxyStack made it: a service whose label matches is left alone.</summary>
    public const string SpecHashLabel = "proxystack.spec-hash";

    /// <summary>Where nginx's config is in its task (the file the start command runs nginx with).</summary>
    public static string ConfigPath => NginxConfigWriter.BakedConfigPath;

    public static string ServiceName(StackModel model, string workload) => $"{model.Name}-{workload}";
    public static string NetworkName(StackModel model) => $"{model.Name}-swarm";
    /// <summary>nginx's config object: named by the stack and the config's digest, so a changed config is a new object.</summary>
    public static string ConfigName(StackModel model, string config) => $"{model.Name}-nginx-{Digest(config)[..12]}";
    /// <summary>A pushed app image: the stack's repository in the registry, tagged with the image id (a new build, a new tag).</summary>
    public static string PushedImage(string registry, StackModel model, string workload, string imageId) =>
        $"{registry.TrimEnd('/')}/{model.Name}-{workload}:{imageId.Replace("sha256:", "", StringComparison.Ordinal)[..12]}";

    public static Dictionary<string, string> Labels(StackModel model, string role) => new(StringComparer.Ordinal)
    {
        [StackLabel] = model.Name,
        [StackLabels.Role] = role,
        [StackLabels.Owner] = model.Owner,
        [StackLabels.Version] = StackLabels.ToolVersion,
    };

    /// <summary>Where a backing container with a volume runs.</summary>
    public const string VolumeConstraint = "node.role == manager";

    /// <summary>Seconds a task has to finish its requests after SIGTERM: ASP.NET Core's own shutdown timeout (30 s).</summary>
    public const int StopGraceSeconds = 30;

    /// <summary>
    /// The replicas' health check: an HTTP/1.0 GET of the health path from inside the task with bash's /dev/tcp (the .NET
    /// images have bash, no curl); a status line of 2xx/3xx passes (any below 500 where any answer does). Null for an image
    /// without a shell (chiseled).
    /// </summary>
    public static IList<string> HealthTest(HealthProbe health, int port)
    {
        var pass = health.Strict ? "[23]" : "[1234]";
        return ["CMD", "bash", "-c",
            $"exec 3<>/dev/tcp/127.0.0.1/{port.ToString(CultureInfo.InvariantCulture)} && printf 'GET {health.Path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r _ status _ <&3 && case $status in {pass}??) exit 0;; *) exit 1;; esac"];
    }

    /// <summary>The service specs, in start order (backing containers, replica sets, nginx), each labelled with its digest.</summary>
    /// <param name="published">The model from <see cref="StackWorkloads.ForTarget"/> for swarm.</param>
    /// <param name="workloads">Its workloads, app images already the pushed references.</param>
    /// <param name="configId">nginx's config object.</param>
    /// <param name="configName">Its name.</param>
    /// <param name="imagesWithoutShell">App images (pushed references) without a shell to run the health check with (chiseled):
    /// their tasks count as ready once started; every other replica set keeps its health check.</param>
    public static IReadOnlyList<ServiceSpec> Specs(StackModel published, IReadOnlyList<Workload> workloads, string configId, string configName, IReadOnlySet<string> imagesWithoutShell)
    {
        var network = NetworkName(published);
        var specs = new List<ServiceSpec>();
        foreach (var w in workloads)
        {
            var role = w.Kind switch { WorkloadKind.App => StackLabels.RoleApp, WorkloadKind.Proxy => StackLabels.RoleProxy, _ => StackLabels.RoleService };
            var container = new Docker.DotNet.Models.ContainerSpec
            {
                Image = w.Image,
                Env = w.Environment.Concat(w.Secrets).Select(e => $"{e.Key}={e.Value}").ToList(),
                Command = w.Kind == WorkloadKind.Proxy ? w.Command?.ToList() : null,
                Args = w.Kind != WorkloadKind.Proxy ? w.Command?.ToList() : null,
                User = w.User,
                ReadOnly = w.User is not null ? true : null,
                Mounts = w.Volumes.Select(v => new Mount
                    {
                        Type = "volume", Source = $"{published.Name}-{v.Name}", Target = v.Target,
                        VolumeOptions = new VolumeOptions { Labels = Labels(published, StackLabels.RoleData) },
                    })
                    .Concat(w.Tmpfs.Select(t => new Mount { Type = "tmpfs", Target = t, TmpfsOptions = new TmpfsOptions { SizeBytes = 64L << 20, Mode = Convert.ToUInt32("1777", 8) } }))
                    .ToList(),
                CapabilityDrop = w.DropAllCapabilities ? ["ALL"] : null,
                StopGracePeriod = w.Kind == WorkloadKind.App ? TimeSpan.FromSeconds(StopGraceSeconds) : null,
                Healthcheck = w is { Kind: WorkloadKind.App, Health: { } health } && !imagesWithoutShell.Contains(w.Image) && !health.Http2
                    ? new HealthcheckConfig { Test = HealthTest(health, w.Port), Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(2), Retries = 3, StartPeriod = TimeSpan.FromSeconds(published.ReadyTimeoutSeconds) }
                    : null,
                Configs = w.ConfigMountPath is { } path
                    ? [new SwarmConfigReference { ConfigID = configId, ConfigName = configName, File = new ConfigReferenceFileTarget { Name = path, UID = "0", GID = "0", Mode = Convert.ToUInt32("444", 8) } }]
                    : null,
            };
            // A database on one volume is replaced stop-first (two of it must never share the volume), and so is nginx, whose
            // port one task per node holds; the replicas start-first.
            var order = (w.Kind == WorkloadKind.Backing && w.Volumes.Count > 0) || w.Kind == WorkloadKind.Proxy ? "stop-first" : "start-first";
            var spec = new ServiceSpec
            {
                Name = ServiceName(published, w.Name),
                Labels = Labels(published, role),
                TaskTemplate = new TaskSpec
                {
                    ContainerSpec = container,
                    Networks = [new NetworkAttachmentConfig { Target = network, Aliases = w.Kind == WorkloadKind.Backing ? [w.Name] : w.Aliases.ToList() }],
                    RestartPolicy = new SwarmRestartPolicy { Condition = "any", Delay = TimeSpan.FromSeconds(1) },
                    // A volume is local to the node that made it: a backing container with one stays on the managers, so its
                    // data does not move to an empty volume on another node (one manager: one place).
                    Placement = w.Kind == WorkloadKind.Backing && w.Volumes.Count > 0 ? new Placement { Constraints = [VolumeConstraint] } : null,
                },
                // nginx on every node, publishing its port there (host mode): what a node is asked on, it serves.
                Mode = w.Kind == WorkloadKind.Proxy ? new ServiceMode { Global = new GlobalService() } : new ServiceMode { Replicated = new ReplicatedService { Replicas = (ulong)w.Replicas } },
                UpdateConfig = new SwarmUpdateConfig { Parallelism = 1, Order = order, FailureAction = "rollback", Monitor = TimeSpan.FromSeconds(5) },
                RollbackConfig = new SwarmUpdateConfig { Parallelism = 1, Order = order, FailureAction = "pause" },
                // Names resolve to the tasks' own addresses (DNS round robin) and ports are published on the node that runs the
                // task: neither needs IPVS, which the routing mesh and virtual IPs do (and which not every kernel has).
                EndpointSpec = new EndpointSpec
                {
                    Mode = "dnsrr",
                    Ports = w.Publish.Select(p => new PortConfig { Protocol = "tcp", TargetPort = (uint)p.ContainerPort, PublishedPort = (uint)p.HostPort, PublishMode = "host" }).ToList(),
                },
            };
            spec.Labels[SpecHashLabel] = Digest(JsonSerializer.Serialize(spec))[..16];
            specs.Add(spec);
        }
        return specs;
    }

    public static string Digest(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
