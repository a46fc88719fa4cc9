using ProxyStack.Diagnostics;
using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;

namespace ProxyStack.Manifests;

/// <summary>
/// A stack as the services a manifest lists (pure): every replica set, every backing container and nginx, with the same
/// environment, wiring and nginx config as on this machine — only the names by which nginx reaches the replicas differ (each
/// replica set is one service of the target, see <see cref="StackTargets.ReplicaService"/>).
/// </summary>
internal static class StackWorkloads
{
    /// <summary>
    /// The user the .NET images run apps as (app, APP_UID): a Kubernetes pod with a key ring has it as its fsGroup, which makes
    /// the ring writable whatever user the image runs as (compose has none: there each ring is given to its image's user).
    /// </summary>
    public const int AppUserId = 1654;

    /// <summary>What nginx's container runs in a manifest: its resolver line (from the container's resolv.conf) when the config includes one, then nginx.</summary>
    public static IReadOnlyList<string> ProxyCommand(StackModel published) =>
        ["sh", "-c", (StackNetworking.ReplicasByDns(published) ? NginxConfigWriter.WriteResolverScript + " && " : "")
            + $"exec nginx -c {NginxConfigWriter.BakedConfigPath} -g 'daemon off;'"];

    /// <summary>The model as written out for <paramref name="target"/>: bridge-like (every service on one network), the app in containers, plain HTTP.</summary>
    public static StackModel ForTarget(StackModel model, string target) => model with
    {
        Target = target,
        NetworkMode = StackNetworkMode.Bridge.Name,
        // A manifest has no host to run the app on: StackAppOnHost's replicas come back as containers.
        Replicas = model.AppOnHostPort > 0 ? model.DeclaredReplicas : model.Replicas,
        AppOnHostPort = 0,
        HttpsPort = 0,
        HttpsRedirect = false,
        Tls = null,
        Ephemeral = false,
        // Swarm mounts a named volume per node, created empty and root-owned, with no step before the tasks start to give it
        // to the app's user: each task keeps its own key ring there (docs/scale-out.md).
        KeyRingDirectory = target == StackTargets.Swarm ? "" : model.KeyRingDirectory,
        // No volume is seeded there with the app's SQLite file (STACK1058).
        Databases = [],
        Projects = model.Projects.Select(p => p with { Databases = [] }).ToList(),
    };

    /// <summary>What stops the stack from being written out for <paramref name="target"/>, and what it leaves out (warnings).</summary>
    public static IReadOnlyList<Diagnostic> Check(StackModel model, string target, IReadOnlyCollection<string>? accepted = null)
    {
        var d = new List<Diagnostic>();
        if (!(accepted ?? [.. StackTargets.Published, StackTargets.Swarm]).Contains(target))
        {
            d.Add(Diagnostic.Error(nameof(Strings.StackTargetInvalid), target));
            return d;
        }
        if (!StackTargets.IsDnsLabel(model.Name))
            d.Add(Diagnostic.Error(nameof(Strings.StackNameRejectedByTarget), model.Name, target));
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, what) in Names(ForTarget(model, target)))
        {
            if (!StackTargets.IsDnsLabel(name) || names.ContainsKey(name))
                d.Add(Diagnostic.Error(nameof(Strings.ManifestNameInvalid), what, name, target, names.TryGetValue(name, out var other) ? $"{other} has it too" : "not a DNS label"));
            names.TryAdd(name, what);
        }
        if (target == StackTargets.Swarm && !model.Network.OwnsNetwork)
            d.Add(Diagnostic.Error(nameof(Strings.SwarmNeedsBridge), model.NetworkMode));
        if (target == StackTargets.Swarm && model.HostAddress is not ("0.0.0.0" or "::"))
            d.Add(Diagnostic.Warning(nameof(Strings.SwarmPublishesEverywhere), model.HostPort, model.HostAddress));
        if (target != StackTargets.Kubernetes && model.NginxVersion.Length > 0 && !model.NginxResolves)
            d.Add(Diagnostic.Error(nameof(Strings.NginxCannotResolveForTarget), model.NginxImage, model.NginxVersion, target));
        if (model.HttpsPort > 0)
            d.Add(Diagnostic.Warning(nameof(Strings.HttpsNotPublished), target, model.HostPort));
        foreach (var set in model.ReplicaSets)
            foreach (var database in set.Databases)
                d.Add(Diagnostic.Warning(nameof(Strings.FileDatabaseNotPublished), set.ProjectKey.Length > 0 ? $"StackProject '{set.ProjectKey}'" : "The app", database.Name, database.File, target));
        return d;
    }

    /// <summary>Every name the target will know a part of the stack by, with what it belongs to.</summary>
    private static IEnumerable<(string Name, string What)> Names(StackModel published)
    {
        yield return (StackTargets.ProxyService, "nginx");
        foreach (var set in published.ReplicaSets)
            yield return (StackTargets.ReplicaService(set), set.ProjectKey.Length > 0 ? $"StackProject '{set.ProjectKey}''s replicas" : "the app's replicas");
        foreach (var project in published.Projects) yield return (project.Name, $"StackProject '{project.Name}' (nginx's name for it)");
        foreach (var service in published.Services) yield return (service.Name, $"StackContainer '{service.Name}'");
    }

    /// <summary>
    /// The stack's workloads for <paramref name="published"/> (a model from <see cref="ForTarget"/>, secrets read), in start
    /// order: backing containers, replica sets, nginx.
    /// </summary>
    /// <param name="published">The stack as written out.</param>
    /// <param name="appImage">The front project's image reference. Example: registry.example.com/hellostack:1.2.0</param>
    /// <param name="projectImages">Each StackProject's image reference by its name.</param>
    public static IReadOnlyList<Workload> Build(StackModel published, string appImage, IReadOnlyDictionary<string, string> projectImages)
    {
        var workloads = new List<Workload>();
        foreach (var service in published.Services)
        {
            var (plain, secret) = Split(service.Environment, service.SecretNames);
            workloads.Add(new Workload
            {
                Name = service.Name, Kind = WorkloadKind.Backing, Image = service.Image, Port = service.Port,
                Environment = plain, Secrets = secret,
                Command = service.Command.Count > 0 ? service.Command : null,
                // The target scopes volumes to the stack (a compose project, a namespace): no stack prefix in their names.
                Volumes = service.Volumes.Select(v => v with { Name = v.Name.StartsWith(published.Name + "-", StringComparison.Ordinal) ? v.Name[(published.Name.Length + 1)..] : v.Name }).ToList(),
                DependsOn = service.DependsOn,
                // On Swarm a published port is on every address of every node: a database is never published there.
                Publish = service.HostPort > 0 && published.Target != StackTargets.Swarm ? [(service.HostPort, service.Port)] : [],
                DropAllCapabilities = false,
            });
        }
        foreach (var set in published.ReplicaSets)
        {
            var (plain, secret) = Split(StackNetworking.AppEnvironment(set, 1), set.SecretNames);
            workloads.Add(new Workload
            {
                Name = StackTargets.ReplicaService(set), Kind = WorkloadKind.App,
                Image = set.ProjectKey.Length > 0 ? projectImages[set.ProjectKey] : appImage,
                // A background service serves nothing: no port, no probe (so no Kubernetes Service, no Swarm health check).
                Replicas = set.Replicas, Port = set.Background ? 0 : set.AppPort, Environment = plain, Secrets = secret, Health = set.Background ? null : set.Health,
                // Each replica set's own Data Protection key ring (StackSharedKeys): "keys", "keys-api".
                Volumes = set.SharedKeys ? [new ServiceVolume(KeyRing.VolumeName(set.ProjectKey), set.KeyRingDirectory)] : [],
                // A StackProject dependency is reached through nginx, which starts last: its replicas are what to wait for.
                DependsOn = set.AppDependsOn.Select(n => published.Projects.FirstOrDefault(p => p.Name == n) is { } p ? StackTargets.ReplicaService(published.ForProject(p)) : n).ToList(),
            });
        }
        workloads.Add(new Workload
        {
            Name = StackTargets.ProxyService, Kind = WorkloadKind.Proxy, Image = published.NginxImage, Port = NginxConfigWriter.ContainerPort,
            Command = ProxyCommand(published),
            DependsOn = published.RoutedSets.Select(StackTargets.ReplicaService).ToList(),
            Aliases = published.ProxyAliases,
            Publish = [(published.HostPort, NginxConfigWriter.ContainerPort)],
            User = NginxConfigWriter.User,
            Tmpfs = ContainerSpecs.ProxyTmpfs,
            ConfigMountPath = NginxConfigWriter.BakedConfigPath,
        });
        return workloads;
    }

    private static (IReadOnlyList<KeyValuePair<string, string>> Plain, IReadOnlyList<KeyValuePair<string, string>> Secret) Split(
        IEnumerable<KeyValuePair<string, string>> environment, IReadOnlySet<string> secretNames)
    {
        var all = environment.ToList();
        return (all.Where(e => !secretNames.Contains(e.Key)).ToList(), all.Where(e => secretNames.Contains(e.Key)).ToList());
    }
}
