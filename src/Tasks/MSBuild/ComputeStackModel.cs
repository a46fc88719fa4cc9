using Microsoft.Build.Framework;
using ProxyStack.Execution;
using ProxyStack.Model;
using ProxyStack.Planning;

namespace ProxyStack.MSBuild;

/// <summary>
/// Validates the Stack* properties and writes the model file (the stamp for non-file inputs). Pure apart from that file:
/// it never touches Docker, so an invalid model stops the build before any engine call.
/// </summary>
public sealed class ComputeStackModel : Microsoft.Build.Utilities.Task
{
    public ComputeStackModel() => TaskResources = Strings.ResourceManager;

    /// <summary>Project name, the default stack name. Example: Contoso.Orders_API</summary>
    [Required] public string ProjectName { get; set; } = "";
    /// <summary>Example: hellostack</summary>
    public string StackName { get; set; } = "";
    /// <summary>Example: 3</summary>
    public string StackReplicas { get; set; } = "";
    /// <summary>Example: 8080</summary>
    public string StackHostPort { get; set; } = "";
    /// <summary>Example: 127.0.0.1</summary>
    public string StackHostAddress { get; set; } = "";
    /// <summary>Example: 8080</summary>
    public string StackAppPort { get; set; } = "";
    /// <summary>Example: /healthz</summary>
    public string StackHealthPath { get; set; } = "";
    /// <summary>Seconds. Example: 60</summary>
    public string StackReadyTimeout { get; set; } = "";
    /// <summary>Example: nginx:stable</summary>
    public string StackNginxImage { get; set; } = "";
    /// <summary>Example: localhost:5000</summary>
    public string StackRegistryMirror { get; set; } = "";
    /// <summary>Example: bridge</summary>
    public string StackNetworkMode { get; set; } = "";
    /// <summary>Example: false</summary>
    public string StackKeepRunning { get; set; } = "";
    /// <summary>
    /// Whether the front project runs on this host instead of in containers; empty: as the IDE's selected launch profile says
    /// (<see cref="ActiveDebugProfile"/>), else false. Example: true
    /// </summary>
    public string StackAppOnHost { get; set; } = "";
    /// <summary>The launch profile Visual Studio has selected ($(ActiveDebugProfile), from the project's .user file). Example: HelloStack (debug)</summary>
    public string ActiveDebugProfile { get; set; } = "";
    /// <summary>StackAppOnHost as decided: set, or from the selected launch profile's StackAppOnHost variable. Example: true</summary>
    [Output] public bool AppOnHost { get; set; }
    /// <summary>The port the app on the host listens on (empty: StackHostPort + 1). Example: 5080</summary>
    public string StackAppOnHostPort { get; set; } = "";
    /// <summary>Whether `dotnet run` brings the stack up (the hook's condition is in Sdk.targets; validated here). Example: true</summary>
    public string StackRunHook { get; set; } = "";
    /// <summary>Under `dotnet run`: the launch profile whose environment the replicas get (empty: dotnet run's default).</summary>
    public string StackLaunchProfile { get; set; } = "";
    /// <summary>The project's launch settings (Properties/launchSettings.json); read only under `dotnet run`.</summary>
    public string LaunchSettingsFile { get; set; } = "";
    /// <summary>Seconds to wait for another bring-up or teardown of the stack. Example: 300</summary>
    public string StackLockTimeout { get; set; } = "300";
    /// <summary>Bytes; 0: no limit. Example: 30000000</summary>
    public string StackMaxRequestBodySize { get; set; } = "30000000";
    /// <summary>Seconds. Example: 3600</summary>
    public string StackProxyReadTimeout { get; set; } = "3600";
    /// <summary>none | cookie | ip. Example: cookie</summary>
    public string StackSessionAffinity { get; set; } = "none";
    /// <summary>Example: 8443 (empty: no HTTPS)</summary>
    public string StackHttpsPort { get; set; } = "";
    /// <summary>Example: false</summary>
    public string StackHttpsRedirect { get; set; } = "";
    /// <summary>PEM certificate, relative to the project. Example: certs/dev.pem (empty: the ASP.NET Core development certificate)</summary>
    public string StackCertificateFile { get; set; } = "";
    /// <summary>PEM private key of StackCertificateFile, relative to the project. Example: certs/dev.key</summary>
    public string StackCertificateKeyFile { get; set; } = "";
    /// <summary>
    /// The project's compiled files (@(Compile)), searched for SignalR and interactive server rendering, and for Data
    /// Protection key storage the app configures itself. Example: Program.cs
    /// </summary>
    public ITaskItem[] SourceFiles { get; set; } = [];
    /// <summary>
    /// nginx directives to include: Include is a file (relative to the project); metadata Block is server (default) or http.
    /// Example: nginx/headers.conf
    /// </summary>
    public ITaskItem[] StackProxyConfig { get; set; } = [];
    /// <summary>What the app's endpoints speak: http1 | http2 (empty: read from appsettings.json). Example: http2</summary>
    public string StackAppProtocol { get; set; } = "";
    /// <summary>One Data Protection key ring for all replicas, kept across redeploys (true|false; empty: true unless the app stores its keys itself). Example: true</summary>
    public string StackSharedKeys { get; set; } = "";
    /// <summary>Take over a stack of this name that another checkout owns (true|false). Example: false</summary>
    public string StackAdopt { get; set; } = "";
    /// <summary>The SDK's ContainerUser, checked for root. Example: app</summary>
    public string ContainerUser { get; set; } = "";
    /// <summary>The project file: its directory, with the machine name, is the owner recorded on the stack. Example: /src/shop/Web/Web.csproj</summary>
    public string ProjectFile { get; set; } = "";

    /// <summary>The project's directory (the current one when no project file was passed, as in some unit tests).</summary>
    private string ProjectDirectory => ProjectFile.Length > 0 ? Path.GetDirectoryName(Path.GetFullPath(ProjectFile))! : Directory.GetCurrentDirectory();
    /// <summary>Set by the `dotnet run` hook: the stack is brought up for this run only (unless StackKeepRunning). Example: true</summary>
    public bool UnderRun { get; set; }
    /// <summary>
    /// Environment for the replicas: Include is the name; metadata Value is the value, or FromEnvironment names a variable
    /// of the build's environment, or FromFile a file (relative to the project), read only when containers are created.
    /// Example: Greeting=hello
    /// </summary>
    public ITaskItem[] StackEnvironment { get; set; } = [];
    /// <summary>
    /// Backing containers: Include is the name dependants connect to; metadata Image (required), Port, HostPort, Environment
    /// ("A=1;B=2"), Volume ("data:/var/lib/postgresql/data"), Command, ReadyWhen (tcp | log:&lt;regex&gt; | command:&lt;sh&gt; |
    /// http:&lt;path&gt; | running), DependsOn ("a;b"), ConnectionString ({host}, {port}). Example: cache with Image=redis:7
    /// </summary>
    public ITaskItem[] StackContainer { get; set; } = [];
    /// <summary>The StackContainer and StackProject items the app replicas start after ("a;b"; empty: every StackContainer). Example: db;cache</summary>
    public string StackDependsOn { get; set; } = "";
    /// <summary>
    /// Other ASP.NET Core projects served by the stack: Include is the project file; metadata Name (default: the file's name,
    /// lower-case), Route (required), StripPrefix (true), Replicas (1), HealthPath, AppPort (8080), DependsOn.
    /// Example: ../Api/Api.csproj with Route=/api
    /// </summary>
    public ITaskItem[] StackProject { get; set; } = [];
    /// <summary>"PublishAot" or "PublishTrimmed" when the project sets it true, else empty. Example: PublishAot</summary>
    public string NativeOrTrimmed { get; set; } = "";
    /// <summary>$(RuntimeIdentifier), or for a native AOT or trimmed project that sets none, the one ProxyStack publishes for. Example: linux-x64</summary>
    public string RuntimeIdentifier { get; set; } = "";
    /// <summary>$(UsingMicrosoftNETSdkWeb), or a FrameworkReference to Microsoft.AspNetCore.App. Example: true</summary>
    public bool IsWebProject { get; set; } = true;
    /// <summary>$(UsingMicrosoftNETSdkBlazorWebAssembly): a standalone Blazor WebAssembly app. Example: false</summary>
    public bool IsBlazorWebAssembly { get; set; }
    /// <summary>$(EnableSdkContainerSupport) and $(IsPublishable) both true. Example: true</summary>
    public bool ContainerSupport { get; set; } = true;
    /// <summary>Where to write the model. Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";

    /// <summary>The normalized stack name. Example: contoso.orders_api</summary>
    [Output] public string NormalizedStackName { get; set; } = "";
    /// <summary>Where the proxy listens. Example: http://127.0.0.1:8080</summary>
    [Output] public string StackUrl { get; set; } = "";
    /// <summary>The nginx base image with the mirror applied. Example: localhost:5000/library/nginx:stable</summary>
    [Output] public string ResolvedNginxImage { get; set; } = "";
    /// <summary>Tag of the proxy image to build. Example: proxystack/hellostack-proxy:latest</summary>
    [Output] public string ProxyImage { get; set; } = "";
    /// <summary>
    /// The StackProject items to build images of: the full path of the project file, and in AdditionalProperties its name,
    /// image repository (&lt;stack&gt;-&lt;name&gt;) and whether nginx serves it. Example: /src/HelloStack/Api/HelloStack.Api.csproj
    /// </summary>
    [Output] public ITaskItem[] ProjectItems { get; set; } = [];

    public override bool Execute()
    {
        var sources = SourceFiles.Select(f => f.GetMetadata("FullPath")).Where(File.Exists).Select(File.ReadAllText).ToList();
        // The profile `dotnet run` applies, from its command line (`-lp X`; "" for --no-launch-profile, which applies none),
        // where it can be read and names a profile there is: dotnet run does not tell the build.
        var onCommandLine = UnderRun ? LaunchProfiles.OnCommandLine(RunOwner.DotnetRunCommandLine(Environment.ProcessId)) : null;
        // Read once: under `dotnet run` for the replicas' environment, and for the selected profile's StackAppOnHost (the one
        // dotnet run applies, else the one an IDE has selected).
        var launchSettings = (UnderRun || ActiveDebugProfile.Length > 0) && LaunchSettingsFile.Length > 0
            && !(onCommandLine == "" && StackLaunchProfile.Trim().Length == 0) ? ReadOrNull(LaunchSettingsFile) : null;
        if (onCommandLine is { Length: > 0 } named && LaunchProfiles.Select(launchSettings, LaunchSettingsFile, named).Error is not null) onCommandLine = null;
        var selectedProfile = onCommandLine ?? ActiveDebugProfile;
        var input = new StackInput
        {
            ProjectName = ProjectName,
            StackName = StackName,
            Replicas = StackReplicas,
            HostPort = StackHostPort,
            HostAddress = StackHostAddress,
            AppPort = StackAppPort,
            HealthPath = StackHealthPath,
            DiscoveredHealthPath = HealthChecks.Discover(sources),
            ReadyTimeout = StackReadyTimeout,
            NginxImage = StackNginxImage,
            RegistryMirror = StackRegistryMirror,
            ProbeToken = SecretDigests.ProbeToken(SecretDigests.LoadOrCreateSalt(SecretDigests.SaltPath(ModelFile))),
            NetworkMode = StackNetworkMode,
            KeepRunning = StackKeepRunning,
            AppOnHost = StackAppOnHost.Trim().Length > 0 ? StackAppOnHost : LaunchProfiles.AppOnHost(launchSettings, selectedProfile) ? "true" : "false",
            AppOnHostPort = StackAppOnHostPort,
            RunHook = StackRunHook,
            LockTimeout = StackLockTimeout,
            MaxRequestBodySize = StackMaxRequestBodySize,
            ProxyReadTimeout = StackProxyReadTimeout,
            SessionAffinity = StackSessionAffinity,
            HttpsPort = StackHttpsPort,
            HttpsRedirect = StackHttpsRedirect,
            CertificateFile = FullPathOrEmpty(StackCertificateFile),
            CertificateKeyFile = FullPathOrEmpty(StackCertificateKeyFile),
            ProxyConfigs = StackProxyConfig.Select(i => (i.ItemSpec, i.GetMetadata("Block"), ReadOrNull(Path.GetFullPath(i.ItemSpec, DefiningDirectory(i))))).ToList(),
            UsesSignalR = Affinity.UsesSignalR(sources),
            UsesInMemorySession = Affinity.UsesInMemorySession(sources),
            SharedKeys = StackSharedKeys,
            AppProtocol = StackAppProtocol,
            DetectedHttp2Only = AppProtocols.Http2OnlyIn(ReadOrNull(Path.Combine(ProjectDirectory, "appsettings.json"))),
            AppSettings = AppSettingsFiles(ProjectDirectory),
            StoresOwnKeys = KeyRing.ConfiguresOwnStorage(sources),
            Adopt = StackAdopt,
            ContainerUser = ContainerUser,
            UnderRun = UnderRun,
            LaunchProfile = StackLaunchProfile.Trim().Length > 0 ? StackLaunchProfile : onCommandLine ?? "",
            LaunchSettings = UnderRun ? launchSettings : null,
            LaunchSettingsPath = LaunchSettingsFile,
            Owner = $"{Environment.MachineName}:{ProjectDirectory.TrimEnd('/', '\\')}",
            ProjectFile = ProjectFile.Length > 0 ? Path.GetFullPath(ProjectFile) : "",
            ContainerSupport = ContainerSupport,
            IsWebProject = IsWebProject,
            IsBlazorWebAssembly = IsBlazorWebAssembly,
            NativeOrTrimmed = NativeOrTrimmed,
            RuntimeIdentifier = RuntimeIdentifier,
            HostArchitecture = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
            HostOperatingSystem = OperatingSystem.IsLinux() ? "Linux" : OperatingSystem.IsMacOS() ? "macOS" : OperatingSystem.IsWindows() ? "Windows" : System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            // An item with a secret source and a Value lands in both lists, which the validator reports as a conflict. Items
            // with Container metadata are a backing container's, not the replicas'.
            Environment = AppItems.Where(i => !IsSecret(i) || i.GetMetadata("Value").Length > 0)
                .Select(i => new KeyValuePair<string, string>(i.ItemSpec, i.GetMetadata("Value"))).ToList(),
            Secrets = AppItems.Where(IsSecret).Select(ToSecretSource).ToList(),
            Containers = StackContainer.Select(i => new ServiceInput(i.ItemSpec)
            {
                Image = i.GetMetadata("Image"), Port = i.GetMetadata("Port"), HostPort = i.GetMetadata("HostPort"),
                Environment = Escaped(i, "Environment"), Volume = i.GetMetadata("Volume"), Command = i.GetMetadata("Command"),
                ReadyWhen = i.GetMetadata("ReadyWhen"), DependsOn = i.GetMetadata("DependsOn"), ConnectionString = i.GetMetadata("ConnectionString"),
                ItemEnvironment = ForContainer(i.ItemSpec).Where(e => !IsSecret(e) || e.GetMetadata("Value").Length > 0)
                    .Select(e => new KeyValuePair<string, string>(e.ItemSpec, e.GetMetadata("Value"))).ToList(),
                Secrets = ForContainer(i.ItemSpec).Where(IsSecret).Select(ToSecretSource).ToList(),
            }).ToList(),
            UnknownContainerEnvironment = StackEnvironment.Where(e => e.GetMetadata("Container").Trim() is { Length: > 0 } c && !StackContainer.Any(i => i.ItemSpec.Trim() == c))
                .Select(e => (e.ItemSpec, e.GetMetadata("Container").Trim())).ToList(),
            DependsOn = StackDependsOn,
            Projects = StackProject.Select(i =>
            {
                var file = Path.GetFullPath(i.ItemSpec, DefiningDirectory(i));
                var sources = ProjectSources(file);
                var projectLaunchSettings = Path.Combine(Path.GetDirectoryName(file)!, "Properties", "launchSettings.json");
                return new ProjectInput(StackProjectName(i))
                {
                    Path = i.ItemSpec, Exists = File.Exists(file),
                    DiscoveredHealthPath = HealthChecks.Discover(sources), StoresOwnKeys = KeyRing.ConfiguresOwnStorage(sources),
                    UsesSignalR = Affinity.UsesSignalR(sources),
                    UsesInMemorySession = Affinity.UsesInMemorySession(sources),
                    AppProtocol = i.GetMetadata("AppProtocol"),
                    DetectedHttp2Only = AppProtocols.Http2OnlyIn(ReadOrNull(Path.Combine(Path.GetDirectoryName(file)!, "appsettings.json"))),
                    AppSettings = AppSettingsFiles(Path.GetDirectoryName(file)!),
                    Route = i.GetMetadata("Route"), StripPrefix = i.GetMetadata("StripPrefix"), Replicas = i.GetMetadata("Replicas"),
                    HealthPath = i.GetMetadata("HealthPath"), AppPort = i.GetMetadata("AppPort"), DependsOn = i.GetMetadata("DependsOn"),
                    ItemEnvironment = ForProject(StackProjectName(i)).Where(e => !IsSecret(e) || e.GetMetadata("Value").Length > 0)
                        .Select(e => new KeyValuePair<string, string>(e.ItemSpec, e.GetMetadata("Value"))).ToList(),
                    Secrets = ForProject(StackProjectName(i)).Where(IsSecret).Select(ToSecretSource).ToList(),
                    LaunchSettingsPath = projectLaunchSettings,
                    LaunchSettings = UnderRun ? ReadOrNull(projectLaunchSettings) : null,
                    LaunchProfile = i.GetMetadata("LaunchProfile"),
                };
            }).ToList(),
            UnknownProjectEnvironment = StackEnvironment.Where(e => e.GetMetadata("Project").Trim() is { Length: > 0 } p && !StackProject.Any(i => StackProjectName(i) == p))
                .Select(e => (e.ItemSpec, e.GetMetadata("Project").Trim())).ToList(),
        };
        var (model, diagnostics) = StackModelBuilder.Build(input);
        MSBuildDiagnosticSink.Log(Log, diagnostics);
        if (model is null || Log.HasLoggedErrors) return false;
        AppOnHost = model.AppOnHostPort > 0;

        if (input.SharedKeys.Trim().Length == 0)
        {
            if (!model.SharedKeys) Log.LogMessageFromResources(MessageImportance.High, nameof(Strings.KeyRingLeftToApp), model.Name, KeyRing.OwnStorageMarker);
            // A background service has no ring to leave to its code (it takes no requests): nothing to say of it.
            foreach (var project in model.Projects.Where(p => p.KeyRingDirectory.Length == 0 && p.Served))
                Log.LogMessageFromResources(MessageImportance.High, nameof(Strings.KeyRingLeftToProject), model.Name, project.Name, KeyRing.OwnStorageMarker);
        }
        StampFile.WriteIfChanged(ModelFile, StackModelFile.Serialize(model));
        // A new `dotnet run`: progress lines left by one whose bring-up failed are not this run's.
        if (UnderRun) Execution.RunProgress.Clear(Path.GetDirectoryName(Path.GetFullPath(ModelFile))!);
        NormalizedStackName = model.Name;
        StackUrl = model.ServedUrl;
        ResolvedNginxImage = model.NginxImage;
        ProxyImage = StackNames.ProxyImage(model.Name) + ":latest";
        ProjectItems = StackProject.Select(i => (ITaskItem)new Microsoft.Build.Utilities.TaskItem(Path.GetFullPath(i.ItemSpec, DefiningDirectory(i)), new Dictionary<string, string>
        {
            // Served (a Route) or a background service: which kinds of project it may be (Project.targets). A background
            // service may be a plain console app on the Generic Host, whose SDK leaves container support off by default.
            ["AdditionalProperties"] = $"_StackProjectName={StackProjectName(i)};ContainerRepository={model.Name}-{StackProjectName(i)}"
                + (model.Projects.Single(p => p.Name == StackProjectName(i)).Served ? ";_StackProjectServed=true" : ";_StackProjectServed=false;EnableSdkContainerSupport=true"),
        })).ToArray();
        return true;
    }

    /// <summary>The appsettings*.json files beside a project file (name → text); none when the folder cannot be read.</summary>
    private static Dictionary<string, string> AppSettingsFiles(string directory)
    {
        var files = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (!Directory.Exists(directory)) return files;
        foreach (var path in Directory.EnumerateFiles(directory, "appsettings*.json"))
            if (ReadOrNull(path) is { } text) files[Path.GetFileName(path)] = text;
        return files;
    }

    /// <summary>
    /// A StackProject's sources as far as ProxyStack reads them (where its code maps health checks, whether it keeps its keys
    /// itself): the files of its language (.cs, or .fs for an .fsproj, .vb for a .vbproj) under its project's folder — its
    /// Compile items, without evaluating the project — leaving out bin, obj and hidden folders, and a folder with a project
    /// file of its own (a nested project, such as the sample's Api/, which its parent must exclude to build at all).
    /// </summary>
    private static List<string> ProjectSources(string projectFile)
    {
        var pattern = Path.GetExtension(projectFile).ToLowerInvariant() switch { ".fsproj" => "*.fs", ".vbproj" => "*.vb", _ => "*.cs" };
        var sources = new List<string>();
        var folders = new Stack<string>();
        if (Path.GetDirectoryName(projectFile) is { } root && Directory.Exists(root)) folders.Push(root);
        while (folders.TryPop(out var folder))
        {
            sources.AddRange(Directory.EnumerateFiles(folder, pattern).Select(File.ReadAllText));
            foreach (var sub in Directory.EnumerateDirectories(folder).Where(d => Path.GetFileName(d) is not ("bin" or "obj") && !Path.GetFileName(d).StartsWith('.')
                && !Directory.EnumerateFiles(d, "*.*proj").Any()))
                folders.Push(sub);
        }
        return sources;
    }

    private static string? ReadOrNull(string path)
    {
        try { return File.ReadAllText(path).ReplaceLineEndings("\n"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private IEnumerable<ITaskItem> AppItems => StackEnvironment.Where(i => i.GetMetadata("Container").Trim().Length == 0 && i.GetMetadata("Project").Trim().Length == 0);

    private IEnumerable<ITaskItem> ForProject(string project) =>
        StackEnvironment.Where(i => i.GetMetadata("Project").Trim() is { Length: > 0 } p && p == project);

    /// <summary>A StackProject's name: its Name metadata, else its project file's name made a DNS name ("Shop.Api" → "shop-api").</summary>
    internal static string StackProjectName(ITaskItem i) => i.GetMetadata("Name").Trim() is { Length: > 0 } name ? name : StackProjects.DefaultName(i.ItemSpec);

    private IEnumerable<ITaskItem> ForContainer(string container) =>
        StackEnvironment.Where(i => i.GetMetadata("Container").Trim() is { Length: > 0 } c && c == container.Trim());

    private static SecretSource ToSecretSource(ITaskItem i) => new(i.ItemSpec, i.GetMetadata("FromEnvironment").Trim(),
        i.GetMetadata("FromFile") is { Length: > 0 } f ? Path.GetFullPath(f, DefiningDirectory(i)) : "");

    /// <summary>
    /// Metadata as written, MSBuild's escapes kept (%3B stays, not ';'), for a list the core splits before it unescapes the
    /// parts; an item that cannot say (not an ITaskItem2) gives its unescaped value.
    /// </summary>
    private static string Escaped(ITaskItem i, string name) => i is ITaskItem2 escaped ? escaped.GetMetadataValueEscaped(name) : i.GetMetadata(name);

    private static bool IsSecret(ITaskItem i) => i.GetMetadata("FromEnvironment").Length > 0 || i.GetMetadata("FromFile").Length > 0;

    /// <summary>A relative FromFile is relative to the project file that declares the item, as MSBuild paths are.</summary>
    private static string DefiningDirectory(ITaskItem i) =>
        i.GetMetadata("DefiningProjectDirectory") is { Length: > 0 } d ? d : Directory.GetCurrentDirectory();

    /// <summary>A path property relative to the project directory, made absolute; empty stays empty.</summary>
    private string FullPathOrEmpty(string path) => path.Trim().Length == 0 ? ""
        : Path.GetFullPath(path.Trim(), ProjectDirectory);
}
