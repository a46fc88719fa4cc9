using System.Globalization;

namespace ProxyStack.Model;

/// <summary>
/// How the proxy reaches the replicas, per StackNetworkMode (pure rules; see docs/networking.md).
/// - bridge: a user-defined bridge network per stack; the proxy names replicas through Docker's DNS; only nginx is published.
/// - host: every container on the host's network; replica n listens on 127.0.0.1:(StackHostPort + n); nginx listens on
///   StackHostAddress:StackHostPort itself.
/// - link (legacy): containers on Docker's default bridge; the proxy is created with a link to each replica, which writes
///   the replica names into its /etc/hosts. Links are fixed at creation, so any change of replicas replaces the proxy.
/// </summary>
internal static class StackNetworking
{
    /// <summary>The engine's own networks: the host's, and its default bridge.</summary>
    public const string HostNetwork = "host";
    public const string DefaultBridge = "bridge";

    /// <summary>Whether the stack owns a network of its own (only bridge mode).</summary>
    public static bool OwnsNetwork(StackModel m) => m.Network.OwnsNetwork;

    /// <summary>The network containers join: the stack's own, the host's, or Docker's default bridge.</summary>
    public static string ContainerNetwork(StackModel m) =>
        m.Network.OwnsNetwork ? m.NetworkName : m.Network.OnHostNetwork ? HostNetwork : DefaultBridge;

    /// <summary>The port replica <paramref name="replica"/> listens on.</summary>
    public static int ReplicaPort(StackModel m, int replica) => m.Network.OnHostNetwork ? m.HostPort + replica : m.AppPort;

    /// <summary>Where the proxy (and the readiness probe, in host mode) reaches a replica: its name, or loopback in host mode.</summary>
    public static string ReplicaHost(StackModel m, int replica) => m.Network.OnHostNetwork ? "127.0.0.1" : m.AppName(replica);

    /// <summary>
    /// The address a readiness probe reaches a replica on: loopback in host mode, else null for the container's own address on
    /// the stack network (the readiness wait, the observer's check and StackStatus all probe this way).
    /// </summary>
    public static string? ProbeAddress(StackModel m) => m.Network.OnHostNetwork ? "127.0.0.1" : null;

    /// <summary>
    /// Whether replicas join and leave nginx's upstream through DNS: bridge mode with an nginx that re-resolves upstream names
    /// (1.27.3 or later). nginx then resolves one alias that only ready replicas carry, so scaling and rolling replacement
    /// need no reload; otherwise every replica is listed by name and a change of replicas reloads nginx.
    /// </summary>
    public static bool ReplicasByDns(StackModel m) => m.Published ? m.Target != Manifests.StackTargets.Kubernetes : m.Network.OwnsNetwork && m.NginxResolves;

    /// <summary>
    /// DNS membership on this machine's engine: replicas hold numbered slot names (1 to the most replicas a stack may have),
    /// so the slots no replica holds fail to resolve. Not for a published stack, where nginx resolves a service's name.
    /// </summary>
    public static bool SlotsByDns(StackModel m) => ReplicasByDns(m) && !m.Published;

    /// <summary>
    /// The container names a bring-up may create: the proxy, every replica slot and, with DNS membership, each slot's joining
    /// name. The observer looks them up; one held by a container that is not the stack's stops the plan (STACK4001).
    /// </summary>
    public static IReadOnlyList<string> ContainerNames(StackModel m)
    {
        var slots = m.ReplicaSets.SelectMany(set => Enumerable.Range(1, set.Replicas).Select(set.AppName)).ToList();
        return [m.ProxyName, .. slots, .. ReplicasByDns(m) ? slots.Select(StackNames.Joining) : [], .. m.Services.Select(s => m.ServiceName(s.Name))];
    }

    /// <summary>The slot names replicas serve under: StackReplicas of each replica set that runs in containers (not StackAppOnHost).</summary>
    public static IReadOnlyList<string> SlotNames(StackModel m) =>
        m.RoutedSets.Where(set => set.AppOnHostPort == 0).SelectMany(set => Enumerable.Range(1, set.Replicas).Select(set.AppName)).ToList();

    /// <summary>Docker's DNS server inside every container on a user-defined network (the proxy reads the one its engine gave it).</summary>
    public const string EngineDns = "127.0.0.11";

    /// <summary>Seconds nginx keeps a DNS answer: how long a joined or departed replica can take to be seen.</summary>
    public const int ResolveValidSeconds = 1;

    /// <summary>
    /// How long nginx can take to see a slot change hands: a re-resolved upstream server asks again (validity + 1) seconds
    /// after each answer (nginx's upstream zone timer, in whole seconds: 2 s with <see cref="ResolveValidSeconds"/>
    /// of 1), and the question itself and a busy worker's timers add to that. A second of margin: with exactly 2 s, a loaded
    /// 2-core machine saw nginx still hold a stopped replica's address (a GET 502 in WholeApplicationTests, and a twin
    /// upstream's POSTs failing "no live upstreams" in every Podman run).
    /// </summary>
    public static readonly TimeSpan ResolverTime = TimeSpan.FromSeconds(ResolveValidSeconds + 2);

    /// <summary>
    /// nginx's upstream servers: with DNS membership every slot name a replica can hold (1 to the most replicas a stack may
    /// have), re-resolved, so the config never depends on StackReplicas, and the set's standby alias as a backup server
    /// (<see cref="Standby"/>); otherwise each replica by name or loopback port.
    /// </summary>
    public static IReadOnlyList<string> Upstreams(StackModel m) => m.Published
        // Written out for compose or Kubernetes: the replica set's service by name. Compose's DNS answers it with every
        // running replica, re-resolved; a Kubernetes Service name is one stable cluster address, resolved once.
        ? [$"{Manifests.StackTargets.UpstreamHost(m)}:{m.AppPort.ToString(CultureInfo.InvariantCulture)}{(ReplicasByDns(m) ? " resolve" : "")}"]
        : m.AppOnHostPort > 0
        ? [$"{AppOnHostName}:{m.AppOnHostPort.ToString(CultureInfo.InvariantCulture)}"]
        : ReplicasByDns(m)
        ? [.. Enumerable.Range(1, StackValidator.MaxReplicas).Select(i => $"{m.AppName(i)}:{m.AppPort.ToString(CultureInfo.InvariantCulture)} resolve"),
            .. StandbyUpstream(m) ? [$"{m.StandbyName}:{m.AppPort.ToString(CultureInfo.InvariantCulture)} resolve backup"] : Array.Empty<string>()]
        : Enumerable.Range(1, m.Replicas).Select(i => $"{ReplicaHost(m, i)}:{ReplicaPort(m, i).ToString(CultureInfo.InvariantCulture)}").ToList();

    /// <summary>
    /// The alias every replica of a set carries from its creation under DNS membership on this machine's engine (null
    /// otherwise): a second name for the set's replicas, which a rename leaves alone. A slot changes hands by two renames,
    /// and between them its name resolves to nothing; should nginx's resolver ask just then, it drops that slot for a second.
    /// With a single replica — the default — no other slot served meanwhile, and nginx answered 502 "no live upstreams" for
    /// up to a second; with several, that took a query falling into every slot's gap at once, which PlanMembership kept from
    /// happening by a 3 s wait after the first hand-over, and which the standby now covers instead. nginx lists the
    /// alias as a backup server (<see cref="StandbyUpstream"/>), used only while no slot has a replica: then it reaches the
    /// replicas under their alias, the old one renamed aside (still running until nginx has resolved its successor) and the
    /// new one. A replica that is not ready yet carries it too; nginx reaches it only when no slot resolves, where it would
    /// otherwise have answered 502 at once. Where slots are network aliases (Podman, a swarm node) the proxy routes by
    /// address and the standby line is left out of every upstream that has one (NginxConfigWriter.RouteByAddress).
    /// </summary>
    public static string? Standby(StackModel m) => SlotsByDns(m) ? m.StandbyName : null;

    /// <summary>
    /// Whether a set's upstream lists its standby alias: under DNS membership with round robin. nginx refuses a backup server
    /// with hash and ip_hash (StackSessionAffinity cookie and ip: "balancing method does not support parameter backup").
    /// </summary>
    public static bool StandbyUpstream(StackModel m) => Standby(m) is not null && m.SessionAffinity == Affinity.None;

    /// <summary>The name the proxy reaches the app on this host by (StackAppOnHost): the engine's host gateway, as Docker Desktop names it.</summary>
    public const string AppOnHostName = "host.docker.internal";

    /// <summary>
    /// The app on the host's command-line configuration (ASP.NET Core reads it above the launch profile's): its URLs, and for
    /// each StackProject its address through nginx's published port and route (a replica gets http://api:8080, which only
    /// containers resolve). Backing containers are not reachable from the host unless published (HostPort), so they get none.
    /// Like a replica, it sees the client's scheme and address behind nginx (ASP.NET Core's ForwardedHeaders_Enabled, see
    /// <see cref="AppEnvironment"/>) unless StackEnvironment sets <see cref="ForwardedHeadersVariable"/>.
    /// </summary>
    /// <param name="m">The stack.</param>
    /// <param name="localGateway">The engine's host gateway when it is an address of this machine (a Linux engine), else null.</param>
    public static string AppOnHostArguments(StackModel m, string? localGateway) =>
        $"--urls \"{string.Join(';', AppOnHostUrls(m.AppOnHostPort, localGateway))}\""
        + (m.Environment.Any(e => e.Key == ForwardedHeadersVariable) ? "" : " --ForwardedHeaders_Enabled=true")
        + string.Concat(m.ServedProjects.Select(p => $" --services:{p.Name}:http:0={m.Url}{p.Route}"));

    /// <summary>The address the app on the host always binds (and whose port is checked before a bring-up).</summary>
    public const string AppOnHostBindAddress = "127.0.0.1";

    /// <summary>
    /// Where the app on the host listens: loopback (where Docker Desktop's host gateway leads, and for the developer's browser)
    /// and the engine's host gateway when it is an address of this machine (a Linux engine) — the docker0 bridge, which only
    /// this machine and its containers reach. Never all interfaces.
    /// </summary>
    public static IReadOnlyList<string> AppOnHostUrls(int port, string? localGateway) =>
        AppOnHostAddresses(localGateway).Select(address => $"http://{address}:{port.ToString(CultureInfo.InvariantCulture)}").ToList();

    /// <summary>The addresses of <see cref="AppOnHostUrls"/>: loopback, and the engine's host gateway when it is this machine's.</summary>
    public static IReadOnlyList<string> AppOnHostAddresses(string? localGateway) =>
        new[] { AppOnHostBindAddress, localGateway }.OfType<string>().Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The engine's default bridge gateway (<paramref name="engineGateway"/>) when the app on the host also binds it: where it
    /// is an address of this machine (<paramref name="ownAddress"/>: a Linux engine's docker0). Not on Docker Desktop, where it
    /// is inside the VM, nor on a rootless engine, where it is inside the engine's network namespace and nginx reaches the app
    /// on loopback (<see cref="HostGateway"/>) — an address of that name on this machine would be another engine's bridge.
    /// </summary>
    public static string? LocalGateway(StackModel m, string? engineGateway, Func<string, bool> ownAddress) =>
        !m.EngineRootless && engineGateway is not null && ownAddress(engineGateway) ? engineGateway : null;

    /// <summary>The proxy's extra /etc/hosts entries: with StackAppOnHost, <see cref="AppOnHostName"/> at <see cref="HostGateway"/>.</summary>
    public static IReadOnlyList<string> ProxyExtraHosts(StackModel m) => m.AppOnHostPort > 0 ? [$"{AppOnHostName}:{HostGateway(m)}"] : [];

    /// <summary>
    /// Where the engine's containers reach this machine's loopback, as an /etc/hosts address: the engine's host-gateway (Docker
    /// Desktop's host; on Linux the default bridge's gateway, which the app also binds). A rootless engine's bridge is inside
    /// its own network namespace, where slirp4netns — rootless Docker's and Podman's network — gives this machine's loopback
    /// the address 10.0.2.2, reachable when the daemon allows it (rootlesskit without --disable-host-loopback).
    /// </summary>
    public static string HostGateway(StackModel m) => m.EngineRootless ? SlirpHostLoopback : "host-gateway";

    /// <summary>slirp4netns's address of the host's loopback.</summary>
    public const string SlirpHostLoopback = "10.0.2.2";

    /// <summary>nginx's listen directive: an unprivileged port in its own network namespace, or the host address and port in host mode.</summary>
    public static string ProxyListen(StackModel m) => Listen(m, m.HostPort, Proxy.NginxConfigWriter.ContainerPort);

    /// <summary>nginx's HTTPS listen address: its own unprivileged port, or the host address and StackHttpsPort in host mode.</summary>
    public static string ProxyListenHttps(StackModel m) => Listen(m, m.HttpsPort, Proxy.NginxConfigWriter.ContainerHttpsPort);

    private static string Listen(StackModel m, int hostPort, int containerPort) => m.Network.OnHostNetwork
        ? $"{(m.HostAddress.Contains(':') ? $"[{m.HostAddress}]" : m.HostAddress)}:{hostPort.ToString(CultureInfo.InvariantCulture)}"
        : containerPort.ToString(CultureInfo.InvariantCulture);

    /// <summary>ASP.NET Core's switch for the forwarded headers middleware (X-Forwarded-For and -Proto, from any proxy).</summary>
    public const string ForwardedHeadersVariable = "ASPNETCORE_FORWARDEDHEADERS_ENABLED";

    /// <summary>
    /// A replica's environment. In host mode each replica binds loopback only on its own port (ASPNETCORE_URLS takes
    /// precedence over the base image's ASPNETCORE_HTTP_PORTS), so it is not reachable from other machines.
    /// </summary>
    public static List<KeyValuePair<string, string>> AppEnvironment(StackModel m, int replica)
    {
        var port = ReplicaPort(m, replica).ToString(CultureInfo.InvariantCulture);
        List<KeyValuePair<string, string>> env = m.Network.OnHostNetwork
            ? [new("ASPNETCORE_HTTP_PORTS", ""), new("ASPNETCORE_URLS", $"http://127.0.0.1:{port}")]
            : [new("ASPNETCORE_HTTP_PORTS", port)];
        // The shared key ring is found where ASP.NET Core looks by default: under LOCALAPPDATA (see KeyRing). Without a
        // LOCALAPPDATA of the project's own, ProxyStack's replaces an empty one (ASP.NET Core would read "" as a relative path).
        var setLocalAppData = m.SharedKeys && KeyRing.OwnLocalAppData(m.Environment) is null;
        env.AddRange(m.Environment.Where(e => e.Key is not ("ASPNETCORE_HTTP_PORTS" or "ASPNETCORE_URLS") && !(setLocalAppData && e.Key == KeyRing.LocalAppDataVariable)));
        if (setLocalAppData) env.Add(new(KeyRing.LocalAppDataVariable, KeyRing.DefaultLocalAppData));
        // nginx is the replicas' only way in: ASP.NET Core's own switch for apps behind a proxy makes the app see the client's
        // scheme and address (X-Forwarded-Proto, X-Forwarded-For) without a code change — the links it writes behind
        // StackHttpsPort are https. StackEnvironment may set it to false.
        if (!env.Any(e => e.Key == ForwardedHeadersVariable)) env.Add(new(ForwardedHeadersVariable, "true"));
        // Wiring: what the app depends on, as the configuration keys .NET reads connection strings from
        // (builder.Configuration.GetConnectionString("cache")); a StackEnvironment item of the same name wins.
        foreach (var service in BackingServices.WiredTo(m.Services, m.AppDependsOn))
            if (!env.Any(e => string.Equals(e.Key, service.EnvironmentName, StringComparison.OrdinalIgnoreCase)))
                env.Add(new(service.EnvironmentName, service.ConnectionString));
        // Its SQLite files, in the volume its replicas share (see FileDatabase).
        foreach (var database in m.Databases)
            if (!env.Any(e => string.Equals(e.Key, database.EnvironmentName, StringComparison.OrdinalIgnoreCase)))
                env.Add(new(database.EnvironmentName, database.ConnectionString));
        // Every StackProject's address, for each other replica set, as Microsoft.Extensions.ServiceDiscovery reads it: the
        // project's name on the stack's network, which is nginx's (it routes only to ready replicas), so the address holds
        // whatever the start order and through every redeploy.
        foreach (var project in m.ServedProjects.Where(p => p.Name != m.ProjectKey))
            if (!env.Any(e => string.Equals(e.Key, project.EnvironmentName, StringComparison.OrdinalIgnoreCase)))
                env.Add(new(project.EnvironmentName, project.Address));
        return env;
    }

    /// <summary>The .NET host's lifetime messages' log level, as the environment variable its configuration reads.</summary>
    public const string LifetimeLogLevelVariable = "Logging__LogLevel__Microsoft.Hosting.Lifetime";

    /// <summary>
    /// A replica's environment as the engine runs it: <see cref="AppEnvironment"/>, and for a background replica the .NET
    /// host's lifetime messages at Information — it is ready once its host writes "Application started."
    /// (<see cref="HealthProbe.BackgroundService"/>), which a project's appsettings may have quietened (a `Default` of
    /// `Warning`, say). A StackEnvironment item of that key wins. Not in the published manifests: nothing waits on output there.
    /// </summary>
    public static List<KeyValuePair<string, string>> ReplicaEnvironment(StackModel m, int replica)
    {
        var env = AppEnvironment(m, replica);
        if (m.Background && !env.Any(e => string.Equals(e.Key, LifetimeLogLevelVariable, StringComparison.OrdinalIgnoreCase)))
            env.Add(new(LifetimeLogLevelVariable, "Information"));
        return env;
    }

    /// <summary>Links the proxy is created with in link mode ("name:alias"), else none.</summary>
    public static IReadOnlyList<string> ProxyLinks(StackModel m) => m.Network.LinksReplicas
        ? Enumerable.Range(1, m.Replicas).Select(i => $"{m.AppName(i)}:{m.AppName(i)}").ToList()
        : [];

    /// <summary>Host ports a bring-up needs besides StackHostPort: the replicas' own ports in host mode.</summary>
    public static IReadOnlyList<int> ReplicaHostPorts(StackModel m) => m.Network.OnHostNetwork
        ? Enumerable.Range(1, m.Replicas).Select(i => m.HostPort + i).ToList()
        : [];
}
