namespace ProxyStack.Model;

/// <summary>Raw user input, exactly as MSBuild handed it over (strings, unparsed). The builder validates and parses it.</summary>
internal sealed record StackInput
{
    public string ProjectName { get; init; } = "";
    public string StackName { get; init; } = "";
    public string Replicas { get; init; } = "";
    public string HostPort { get; init; } = "";
    public string HostAddress { get; init; } = "";
    public string AppPort { get; init; } = "";
    /// <summary>StackHealthPath as set; empty: not set (see <see cref="HealthProbe"/>).</summary>
    public string HealthPath { get; init; } = "";
    /// <summary>The path the project's code maps health checks at (MapHealthChecks("/healthz")), or null.</summary>
    public string? DiscoveredHealthPath { get; init; }
    public string ReadyTimeout { get; init; } = "";
    public string NginxImage { get; init; } = "";
    public string RegistryMirror { get; init; } = "";
    /// <summary>See <see cref="StackModel.ProbeToken"/>; empty: every request is logged.</summary>
    public string ProbeToken { get; init; } = "";
    public string NetworkMode { get; init; } = "";
    public string KeepRunning { get; init; } = "";
    /// <summary>StackAppOnHost (true|false): the front project runs on this host, not in containers (F5 that debugs).</summary>
    public string AppOnHost { get; init; } = "false";
    /// <summary>StackAppOnHostPort: where the app on the host listens (empty: StackHostPort + 1). Example: 5080</summary>
    public string AppOnHostPort { get; init; } = "";
    /// <summary>StackRunHook: whether `dotnet run` brings the stack up (true|false).</summary>
    public string RunHook { get; init; } = "true";
    public string LockTimeout { get; init; } = "";
    public string MaxRequestBodySize { get; init; } = "";
    public string ProxyReadTimeout { get; init; } = "";
    public string SessionAffinity { get; init; } = "none";
    /// <summary>StackHttpsPort: empty for no HTTPS. Example: 8443</summary>
    public string HttpsPort { get; init; } = "";
    /// <summary>StackHttpsRedirect (true|false): plain HTTP answers with a redirect to HTTPS instead of serving.</summary>
    public string HttpsRedirect { get; init; } = "";
    /// <summary>StackCertificateFile and StackCertificateKeyFile, full paths (empty: the ASP.NET Core development certificate).</summary>
    public string CertificateFile { get; init; } = "";
    public string CertificateKeyFile { get; init; } = "";
    /// <summary>The project's code uses SignalR or interactive server rendering (their connections must stay on one replica).</summary>
    public bool UsesSignalR { get; init; }
    /// <summary>The project's code keeps session state in each replica's memory (see <see cref="Affinity.UsesInMemorySession"/>).</summary>
    public bool UsesInMemorySession { get; init; }
    /// <summary>StackAppProtocol as set (http1|http2; empty: detected).</summary>
    public string AppProtocol { get; init; } = "";
    /// <summary>The app's Kestrel endpoints speak HTTP/2 only (appsettings.json: Kestrel:EndpointDefaults:Protocols = Http2, as the grpc template sets).</summary>
    public bool DetectedHttp2Only { get; init; }
    /// <summary>The project's appsettings*.json beside its project file: file name → text (see <see cref="FileDatabases.Find"/>).</summary>
    public IReadOnlyDictionary<string, string> AppSettings { get; init; } = new Dictionary<string, string>();
    /// <summary>StackSharedKeys (true|false; empty: true unless the app stores its keys itself).</summary>
    public string SharedKeys { get; init; } = "";
    /// <summary>The project's code configures where Data Protection keeps its keys (see <see cref="KeyRing.ConfiguresOwnStorage"/>).</summary>
    public bool StoresOwnKeys { get; init; }
    /// <summary>StackProxyConfig items: path as written, Block metadata, and the content (null: the file could not be read).</summary>
    public IReadOnlyList<(string Path, string Block, string? Content)> ProxyConfigs { get; init; } = [];
    /// <summary>The SDK's ContainerUser (empty: the base image's user). Example: app</summary>
    public string ContainerUser { get; init; } = "";
    /// <summary>StackAdopt: take over a stack that another project directory brought up (true|false).</summary>
    public string Adopt { get; init; } = "";
    /// <summary>Identity of the checkout that owns the stack: machine name and project directory.</summary>
    public string Owner { get; init; } = "";
    /// <summary>The project file's full path, named in the commands ProxyStack suggests (see <see cref="DotnetBuildCommand"/>).</summary>
    public string ProjectFile { get; init; } = "";
    /// <summary>Whether the bring-up is part of `dotnet run` (set by the run hook, not by users).</summary>
    public bool UnderRun { get; init; }
    /// <summary>StackLaunchProfile: the launch profile whose environment the replicas get under `dotnet run` (empty: dotnet run's default).</summary>
    public string LaunchProfile { get; init; } = "";
    /// <summary>The project's Properties/launchSettings.json (null: it has none), and its path for messages.</summary>
    public string? LaunchSettings { get; init; }
    public string LaunchSettingsPath { get; init; } = "Properties/launchSettings.json";
    /// <summary>$(PublishAot) or $(PublishTrimmed) is true: the app publishes for one runtime identifier only.</summary>
    public string NativeOrTrimmed { get; init; } = "";
    /// <summary>$(RuntimeIdentifier) as the project sets it, else the one ProxyStack publishes a native AOT or trimmed app for. Example: linux-x64</summary>
    public string RuntimeIdentifier { get; init; } = "";
    /// <summary>The building machine's architecture as .NET names it in runtime identifiers. Example: x64</summary>
    public string HostArchitecture { get; init; } = "x64";
    /// <summary>The building machine's operating system (Linux, macOS, Windows). Example: Linux</summary>
    public string HostOperatingSystem { get; init; } = "Linux";
    /// <summary>An ASP.NET Core app: Microsoft.NET.Sdk.Web, or a FrameworkReference to Microsoft.AspNetCore.App.</summary>
    public bool IsWebProject { get; init; } = true;
    /// <summary>A Blazor WebAssembly app (Microsoft.NET.Sdk.BlazorWebAssembly): static files for the browser, no server of its own.</summary>
    public bool IsBlazorWebAssembly { get; init; }
    /// <summary>Whether the project can publish a container (EnableSdkContainerSupport and IsPublishable).</summary>
    public bool ContainerSupport { get; init; } = true;
    /// <summary>Environment for app replicas: name → value, from StackEnvironment items.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];
    /// <summary>StackEnvironment items whose value is read at apply time (FromEnvironment or FromFile metadata).</summary>
    public IReadOnlyList<SecretSource> Secrets { get; init; } = [];
    /// <summary>StackContainer items, metadata as written.</summary>
    public IReadOnlyList<ServiceInput> Containers { get; init; } = [];
    /// <summary>StackEnvironment items whose Container metadata names no StackContainer: (item, container).</summary>
    public IReadOnlyList<(string Item, string Container)> UnknownContainerEnvironment { get; init; } = [];
    /// <summary>StackDependsOn: the StackContainer and StackProject names the app replicas start after ("a;b"); empty: every StackContainer.</summary>
    public string DependsOn { get; init; } = "";
    /// <summary>StackProject items, metadata as written.</summary>
    public IReadOnlyList<ProjectInput> Projects { get; init; } = [];
    /// <summary>StackEnvironment items whose Project metadata names no StackProject: (item, project).</summary>
    public IReadOnlyList<(string Item, string Project)> UnknownProjectEnvironment { get; init; } = [];
}

/// <summary>
/// One StackProject item as MSBuild handed it over: its name (the Name metadata, else the project file's name) and metadata,
/// unparsed.
/// </summary>
internal sealed record ProjectInput(string Name)
{
    /// <summary>The project file as written in Include. Example: ../HelloStack.Api/HelloStack.Api.csproj</summary>
    public string Path { get; init; } = "";
    /// <summary>Whether the project file exists.</summary>
    public bool Exists { get; init; } = true;
    public string Route { get; init; } = "";
    public string StripPrefix { get; init; } = "";
    public string Replicas { get; init; } = "";
    public string HealthPath { get; init; } = "";
    public string AppPort { get; init; } = "";
    public string DependsOn { get; init; } = "";
    /// <summary>The path its code maps health checks at (see <see cref="HealthChecks"/>), or null.</summary>
    public string? DiscoveredHealthPath { get; init; }
    /// <summary>AppProtocol metadata (http1|http2; empty: detected). Example: http2</summary>
    public string AppProtocol { get; init; } = "";
    /// <summary>Its appsettings.json limits Kestrel's endpoints to HTTP/2 (see <see cref="AppProtocols.Http2OnlyIn"/>).</summary>
    public bool DetectedHttp2Only { get; init; }
    /// <summary>Its appsettings*.json: file name → text (see <see cref="FileDatabases.Find"/>).</summary>
    public IReadOnlyDictionary<string, string> AppSettings { get; init; } = new Dictionary<string, string>();
    /// <summary>Its code configures where Data Protection keeps its keys (see <see cref="KeyRing.ConfiguresOwnStorage"/>).</summary>
    public bool StoresOwnKeys { get; init; }
    /// <summary>Its code uses SignalR or interactive server rendering (see <see cref="Affinity.UsesSignalR"/>).</summary>
    public bool UsesSignalR { get; init; }
    /// <summary>The project's code keeps session state in each replica's memory (see <see cref="Affinity.UsesInMemorySession"/>).</summary>
    public bool UsesInMemorySession { get; init; }
    /// <summary>StackEnvironment items with Project set to this item's name: plain values.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ItemEnvironment { get; init; } = [];
    /// <summary>StackEnvironment items with Project set to this item's name and a secret source (FromEnvironment, FromFile).</summary>
    public IReadOnlyList<SecretSource> Secrets { get; init; } = [];
    /// <summary>Under `dotnet run`: its own Properties/launchSettings.json (null when it has none, or not under run).</summary>
    public string? LaunchSettings { get; init; }
    /// <summary>Where its launch settings are, for messages. Example: /src/HelloStack/Api/Properties/launchSettings.json</summary>
    public string LaunchSettingsPath { get; init; } = "Properties/launchSettings.json";
    /// <summary>LaunchProfile metadata: the profile whose environment its replicas get under `dotnet run` (empty: dotnet run's default).</summary>
    public string LaunchProfile { get; init; } = "";
}

/// <summary>One StackContainer item as MSBuild handed it over: its name (Include) and metadata, unparsed.</summary>
internal sealed record ServiceInput(string Name)
{
    public string Image { get; init; } = "";
    public string Port { get; init; } = "";
    public string HostPort { get; init; } = "";
    /// <summary>"NAME=value;NAME=value".</summary>
    public string Environment { get; init; } = "";
    /// <summary>"volume:/path;volume:/path".</summary>
    public string Volume { get; init; } = "";
    public string Command { get; init; } = "";
    public string ReadyWhen { get; init; } = "";
    public string DependsOn { get; init; } = "";
    public string ConnectionString { get; init; } = "";
    /// <summary>StackEnvironment items with Container set to this item's name: plain values (they win over Environment).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ItemEnvironment { get; init; } = [];
    /// <summary>StackEnvironment items with Container set to this item's name and a secret source (FromEnvironment, FromFile).</summary>
    public IReadOnlyList<SecretSource> Secrets { get; init; } = [];
}
