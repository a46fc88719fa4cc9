using System.Text.Json.Serialization;

namespace ProxyStack.Model;

/// <summary>The validated, normalized description of one stack. Images are references; their ids are observed, not modelled.</summary>
internal sealed record StackModel
{
    public required string Name { get; init; }
    public required int Replicas { get; init; }
    public required string HostAddress { get; init; }
    public required int HostPort { get; init; }
    public required int AppPort { get; init; }
    public required string HealthPath { get; init; }
    /// <summary>
    /// http1 (default) or http2: the app's endpoints speak HTTP/2 only, cleartext with prior knowledge (gRPC). nginx then
    /// passes requests with grpc_pass and accepts HTTP/2 beside HTTP/1.1 on its plain port; replicas are probed over HTTP/2.
    /// </summary>
    public string AppProtocol { get; init; } = AppProtocols.Http1;
    [JsonIgnore] public bool AppHttp2 => AppProtocol == AppProtocols.Http2;
    /// <summary>Readiness needs 2xx/3xx (StackHealthPath set, or the app's health checks found) rather than any answer below 500.</summary>
    public bool HealthStrict { get; init; } = true;
    /// <summary>The probe of a replica (over HTTP/2 when the app speaks only that).</summary>
    [JsonIgnore] public HealthProbe Health => Background ? HealthProbe.BackgroundService : new(HealthPath, HealthStrict, AppHttp2);
    /// <summary>
    /// A StackProject without Route (see <see cref="AppProject.Served"/>): replicas that nginx knows nothing of, ready once
    /// their host has started. In memory only, from <see cref="ForProject"/>.
    /// </summary>
    [JsonIgnore] public bool Background { get; init; }
    /// <summary>
    /// The probe through nginx, which speaks HTTP/1.1 to the host whatever the app speaks. With the app on the host, which
    /// starts after the bring-up, nginx answering at all is the proxy being ready.
    /// </summary>
    [JsonIgnore] public HealthProbe ProxyHealth => new(HealthPath, HealthStrict) { AnyAnswer = AppOnHostPort > 0 };
    public required int ReadyTimeoutSeconds { get; init; }
    /// <summary>The nginx base image, mirror already applied.</summary>
    public required string NginxImage { get; init; }
    /// <summary>
    /// The value of the X-ProxyStack-Probe header that ProxyStack's own requests through a local stack's proxy carry (readiness,
    /// StackStatus), which keeps them out of its access log (SecretDigests.ProbeToken). Any other value is logged: a client
    /// cannot hide its requests by sending the header. Empty: every request is logged.
    /// </summary>
    public string ProbeToken { get; init; } = "";
    public required string NetworkMode { get; init; }
    /// <summary><see cref="NetworkMode"/> as the type that owns its rules.</summary>
    [JsonIgnore] public StackNetworkMode Network => StackNetworkMode.Parse(NetworkMode) ?? StackNetworkMode.Bridge;
    public required bool KeepRunning { get; init; }
    /// <summary>
    /// StackAppOnHost: the port the front project listens on as a process on this host (the IDE's F5, debugger attached),
    /// reached by nginx through the engine's host gateway; its replica set is then empty. 0: the app runs in containers.
    /// </summary>
    public int AppOnHostPort { get; init; }
    /// <summary>
    /// The engine runs rootless (learnt by ApplyStack from the engine, with StackAppOnHost only): its containers reach this
    /// machine elsewhere (<see cref="StackNetworking.HostGateway"/>).
    /// </summary>
    [JsonIgnore] public bool EngineRootless { get; init; }
    /// <summary>
    /// StackReplicas as set, also under StackAppOnHost (where <see cref="Replicas"/> is 0 on this machine): what a published or
    /// deployed stack runs, since a manifest has no host for the app (see Manifests.StackWorkloads.ForTarget).
    /// </summary>
    public int DeclaredReplicas { get; init; }
    /// <summary>Seconds a bring-up or teardown waits for another one of the same stack before STACK4014.</summary>
    public int LockTimeoutSeconds { get; init; } = 300;
    /// <summary>Largest request body nginx passes on, in bytes (0: no limit). Kestrel's default, 30,000,000.</summary>
    public long MaxRequestBodySize { get; init; } = 30_000_000;
    /// <summary>Seconds nginx waits between two reads from a replica before it gives up on the response.</summary>
    public int ProxyReadTimeoutSeconds { get; init; } = 3600;
    /// <summary>none | cookie | ip: how nginx keeps one client on one replica (see <see cref="Affinity"/>).</summary>
    public string SessionAffinity { get; init; } = Affinity.None;
    /// <summary>Host port nginx serves HTTPS (TLS with HTTP/2) on, on HostAddress; 0: no HTTPS.</summary>
    public int HttpsPort { get; init; }
    /// <summary>Plain HTTP answers 308 to the HTTPS address instead of serving (HttpsPort set).</summary>
    public bool HttpsRedirect { get; init; }
    /// <summary>PEM certificate and key (full paths); both empty: the ASP.NET Core development certificate, exported for the stack.</summary>
    public string CertificateFile { get; init; } = "";
    public string CertificateKeyFile { get; init; } = "";
    /// <summary>In memory only (ApplyStack): the certificate and key the proxy serves HTTPS with; never written to disk by the model.</summary>
    [JsonIgnore] public TlsMaterial? Tls { get; init; }
    /// <summary>
    /// Where the replicas' shared Data Protection key ring is mounted (see <see cref="Model.KeyRing"/>); empty: no shared ring
    /// (StackSharedKeys false, or the app stores its keys itself).
    /// </summary>
    public string KeyRingDirectory { get; init; } = "";
    [JsonIgnore] public bool SharedKeys => KeyRingDirectory.Length > 0;
    /// <summary>This replica set's own key ring: "&lt;stack&gt;-keys" for the front project, "&lt;stack&gt;-keys-&lt;project&gt;" for a StackProject.</summary>
    [JsonIgnore] public string KeysVolumeName => StackNames.KeysVolume(Name, ProjectKey);
    /// <summary>
    /// Every replica set's key ring volume, whether or not the set has replicas now (the stack's volumes count for ownership
    /// and teardown either way).
    /// </summary>
    [JsonIgnore] public IEnumerable<string> KeysVolumeNames => ReplicaSets.Where(s => s.SharedKeys).Select(s => s.KeysVolumeName);
    /// <summary>SQLite files of the app's own folder that its replicas share through a volume (see <see cref="FileDatabase"/>).</summary>
    public IReadOnlyList<FileDatabase> Databases { get; init; } = [];
    /// <summary>This replica set's database volume: "&lt;stack&gt;-appdata" for the front project, "&lt;stack&gt;-appdata-&lt;project&gt;" for a StackProject.</summary>
    [JsonIgnore] public string DataVolumeName => StackNames.DataVolume(Name, ProjectKey);
    /// <summary>Every replica set's database volume (as <see cref="KeysVolumeNames"/>).</summary>
    [JsonIgnore] public IEnumerable<string> DataVolumeNames => ReplicaSets.Where(s => s.Databases.Count > 0).Select(s => s.DataVolumeName);
    /// <summary>StackProxyConfig snippets, in item order.</summary>
    public IReadOnlyList<ProxyConfigSnippet> ProxyConfigs { get; init; } = [];
    /// <summary>Sorted by name, so hashing and container specs are deterministic.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; }
    /// <summary>Under `dotnet run`: the launch profile whose environment the replicas got (empty: none).</summary>
    public string LaunchProfile { get; init; } = "";
    /// <summary>Under `dotnet run`: the launch settings file, which the runner reads to compare the profile dotnet run applied with the replicas'.</summary>
    public string LaunchSettingsFile { get; init; } = "";
    /// <summary>Secret environment: sources only; ApplyStack reads the values (see <see cref="SecretEnvironment"/>).</summary>
    public IReadOnlyList<SecretSource> Secrets { get; init; } = [];
    /// <summary>The checkout that owns the stack ("machine:project directory"), recorded on every container and network.</summary>
    public string Owner { get; init; } = "";
    /// <summary>The project file's full path (empty: unknown), named in the commands ProxyStack suggests.</summary>
    public string ProjectFile { get; init; } = "";
    /// <summary>StackAdopt: remove a stack of the same name owned by another checkout, then bring this one up.</summary>
    public bool Adopt { get; init; }
    /// <summary>
    /// Brought up by `dotnet run` and not kept (StackKeepRunning false): its containers restart after a crash but not after an
    /// engine restart (on-failure), and a reaper removes the stack when the `dotnet run` process is gone.
    /// </summary>
    public bool Ephemeral { get; init; }
    /// <summary>
    /// In memory only: the nginx version of the base image ("1.30.6"; empty: unknown), read from the image by
    /// InspectStackProxyBase. It decides what the config may use (see <see cref="Proxy.NginxVersions"/>).
    /// </summary>
    [JsonIgnore] public string NginxVersion { get; init; } = "";
    /// <summary>The nginx re-resolves upstream names (1.27.3 or later): in bridge mode replicas join and leave without a reload.</summary>
    [JsonIgnore] public bool NginxResolves => Proxy.NginxVersions.Resolves(NginxVersion);
    /// <summary>In memory only (ApplyStack): names of the environment variables whose values are secrets.</summary>
    [JsonIgnore] public IReadOnlySet<string> SecretNames { get; init; } = new HashSet<string>();
    /// <summary>In memory only: a keyed digest of the secret values (see <see cref="SecretDigests"/>); null without secrets.</summary>
    [JsonIgnore] public string? SecretDigest { get; init; }

    /// <summary>
    /// In memory only: the StackTarget this model is written out for ("" — this machine's engine; see
    /// <see cref="Manifests.StackTargets"/>). nginx then reaches each replica set by its service's name.
    /// </summary>
    [JsonIgnore] public string Target { get; init; } = "";
    /// <summary>Whether this model is written out for a StackTarget (Swarm, Compose, Kubernetes) rather than run on this machine's engine.</summary>
    [JsonIgnore] public bool Published => Target.Length > 0;

    /// <summary>StackContainer items, in the order they start (each after what it depends on).</summary>
    public IReadOnlyList<BackingService> Services { get; init; } = [];
    /// <summary>The backing containers (and StackProjects) the app replicas start after and get connection strings (addresses) of.</summary>
    public IReadOnlyList<string> AppDependsOn { get; init; } = [];

    /// <summary>StackProject items, in the order they start (each after the projects it depends on).</summary>
    public IReadOnlyList<AppProject> Projects { get; init; } = [];
    /// <summary>
    /// Whose replicas this model describes: "" for the front project, else a StackProject's name (see <see cref="ForProject"/>).
    /// In memory only.
    /// </summary>
    [JsonIgnore] public string ProjectKey { get; init; } = "";

    /// <summary>
    /// A StackProject's replicas as a model of their own: the stack's settings with the project's replicas, port, health
    /// probe, environment and dependencies, so planning, container specs and probing treat every replica set alike.
    /// </summary>
    public StackModel ForProject(AppProject project) => this with
    {
        ProjectKey = project.Name,
        Background = !project.Served,
        Replicas = project.Replicas,
        AppOnHostPort = 0,
        AppPort = project.AppPort,
        HealthPath = project.HealthPath,
        HealthStrict = project.HealthStrict,
        AppProtocol = project.AppProtocol,
        Environment = project.Environment,
        Secrets = project.Secrets,
        LaunchProfile = "",
        AppDependsOn = project.DependsOn,
        // Its own ring (see KeyRing), where its own LOCALAPPDATA puts it.
        KeyRingDirectory = project.KeyRingDirectory,
        Databases = project.Databases,
        // A connection string to a backing container with secret settings holds a secret too (ApplyStack resolved it).
        SecretNames = project.SecretNames.Concat(Services.Where(s => project.DependsOn.Contains(s.Name) && s.SecretNames.Count > 0).Select(s => s.EnvironmentName)).ToHashSet(StringComparer.Ordinal),
        SecretDigest = string.Concat(new[] { project.SecretDigest }.Concat(Services.Where(s => project.DependsOn.Contains(s.Name)).Select(s => s.SecretDigest)).Where(x => x is not null)) is { Length: > 0 } digest ? digest : null,
    };

    /// <summary>The StackProjects nginx serves, at their Route and under their name (not the background ones).</summary>
    [JsonIgnore] public IEnumerable<AppProject> ServedProjects => Projects.Where(p => p.Served);
    /// <summary>The names the proxy answers to on the stack's network besides its own: each served StackProject's.</summary>
    [JsonIgnore] public IReadOnlyList<string> ProxyAliases => [.. ServedProjects.Select(p => p.Name)];
    /// <summary>The replica sets nginx routes to: every one but a background StackProject's.</summary>
    [JsonIgnore] public IEnumerable<StackModel> RoutedSets => ReplicaSets.Where(s => !s.Background);

    /// <summary>Every replica set of the stack: the front project's (this model) and each StackProject's, in start order.</summary>
    [JsonIgnore] public IReadOnlyList<StackModel> ReplicaSets => ProjectKey.Length > 0 ? [this]
        : BackingServices.StartOrder([this, .. Projects.Select(ForProject)], m => m.ProjectKey, m => string.Join(';', m.AppDependsOn));
    public string ServiceName(string service) => StackNames.Service(Name, service);
    /// <summary>The replica set a replica belongs to by its project label ("" for the front project); null for a StackProject no longer declared.</summary>
    public StackModel? SetOf(string project) => ReplicaSets.FirstOrDefault(s => s.ProjectKey == project);

    /// <summary>Where the stack is served and by what: the front project's replicas, or the app on this host.</summary>
    [JsonIgnore] public string ListeningLine => AppOnHostPort > 0
        ? string.Format(System.Globalization.CultureInfo.InvariantCulture, Strings.AppOnHostListening, Name, AppOnHostPort, ServedAt(""))
        : string.Format(System.Globalization.CultureInfo.InvariantCulture, Strings.StackListening, Name, Replicas, ServedAt(""));

    /// <summary>One line per StackProject: where it is served and by how many replicas.</summary>
    [JsonIgnore] public IEnumerable<string> ProjectLines => Projects.Select(p => p.Served
        ? string.Format(System.Globalization.CultureInfo.InvariantCulture, Strings.ProjectListening, Name, p.Name, p.Replicas, ServedAt(p.Route))
        : string.Format(System.Globalization.CultureInfo.InvariantCulture, Strings.ProjectInBackground, Name, p.Name, p.Replicas));

    [JsonIgnore] public string NetworkName => StackNames.Network(Name);
    [JsonIgnore] public string ProxyName => StackNames.Proxy(Name);
    /// <summary>Replica <paramref name="replica"/>'s name: &lt;stack&gt;-app-N for the front project, &lt;stack&gt;-&lt;project&gt;-N for a StackProject.</summary>
    public string AppName(int replica) => StackNames.App(Name, replica, ProjectKey);
    /// <summary>This replica set's standby alias under DNS membership (<see cref="StackNames.Standby"/>).</summary>
    [JsonIgnore] public string StandbyName => StackNames.Standby(Name, ProjectKey);
    [JsonIgnore] public string Url => $"http://{UrlHost}:{HostPort}";
    /// <summary>https://…:HttpsPort, or null without HTTPS.</summary>
    [JsonIgnore] public string? HttpsUrl => HttpsPort > 0 ? $"https://{UrlHost}:{HttpsPort}" : null;
    /// <summary>
    /// Every address that serves the app: HTTP, then HTTPS when set — but only HTTPS when plain HTTP only redirects to it
    /// (what Kestrel's "Now listening on" lines name for an app listening on both).
    /// </summary>
    [JsonIgnore] public IReadOnlyList<string> ServedUrls => HttpsUrl is not { } secure ? [Url] : HttpsRedirect ? [secure] : [Url, secure];
    /// <summary>Where the app is served, one address (the build's StackUrl): the first of <see cref="ServedUrls"/>.</summary>
    [JsonIgnore] public string ServedUrl => ServedUrls[0];
    /// <summary><paramref name="path"/> at every address that serves the app, for a message ("http://… and https://…").</summary>
    private string ServedAt(string path) => string.Join(" and ", ServedUrls.Select(u => u + path));
    private string UrlHost => HostAddress.Contains(':') ? $"[{HostAddress}]" : HostAddress == "0.0.0.0" ? "localhost" : HostAddress;
}
