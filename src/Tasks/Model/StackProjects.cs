using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ProxyStack.Diagnostics;

namespace ProxyStack.Model;

/// <summary>
/// Another project of the solution run by the stack (a StackProject item on the front project): its own image (the SDK's
/// PublishContainer, as the front project's) and its own replicas &lt;stack&gt;-&lt;name&gt;-N. An ASP.NET Core project with a
/// <see cref="Route"/> is served behind the same nginx there, and reachable by the other replicas as http://&lt;name&gt;:8080
/// (through nginx, which only routes to ready replicas); one without is a background service (a Worker Service, any app on
/// the .NET Generic Host), which nginx knows nothing of (<see cref="Served"/>).
/// </summary>
internal sealed record AppProject
{
    /// <summary>Its name: replicas' names, nginx's upstream, the host name dependants reach it by. Example: api</summary>
    public required string Name { get; init; }
    /// <summary>The path prefix nginx serves it at, without a trailing '/'; empty for a background service. Example: /api</summary>
    public required string Route { get; init; }
    /// <summary>Whether nginx serves it (it has a Route); otherwise it runs in the background, ready once its host has started.</summary>
    [JsonIgnore] public bool Served => Route.Length > 0;
    /// <summary>The prefix is removed before the request reaches the app (/api/items → /items; X-Forwarded-Prefix says what it was).</summary>
    public bool StripPrefix { get; init; } = true;
    public int Replicas { get; init; } = 1;
    public int AppPort { get; init; } = 8080;
    /// <summary>What its endpoints speak (see <see cref="StackModel.AppProtocol"/>): http1, or http2 only (gRPC).</summary>
    public string AppProtocol { get; init; } = AppProtocols.Http1;
    public string HealthPath { get; init; } = "/";
    public bool HealthStrict { get; init; }
    /// <summary>Its StackEnvironment (items with Project = this name), sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];
    /// <summary>Secret environment: sources only; ApplyStack reads the values.</summary>
    public IReadOnlyList<SecretSource> Secrets { get; init; } = [];
    /// <summary>StackContainer and StackProject names its replicas start after (and get the addresses of).</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];
    /// <summary>
    /// Where its replicas' own key ring is mounted (see <see cref="KeyRing"/>); empty: none (StackSharedKeys false, or its code
    /// keeps its keys itself).
    /// </summary>
    public string KeyRingDirectory { get; init; } = "";
    /// <summary>Its SQLite files that its replicas share through a volume (see <see cref="FileDatabase"/>).</summary>
    public IReadOnlyList<FileDatabase> Databases { get; init; } = [];
    /// <summary>In memory only (ApplyStack): names of its environment variables whose values are secrets.</summary>
    [JsonIgnore] public IReadOnlySet<string> SecretNames { get; init; } = new HashSet<string>();
    /// <summary>In memory only: a keyed digest of its secret values; null without secrets.</summary>
    [JsonIgnore] public string? SecretDigest { get; init; }

    /// <summary>What dependants get: the key Microsoft.Extensions.ServiceDiscovery reads ("services__api__http__0").</summary>
    [JsonIgnore] public string EnvironmentName => $"services__{Name}__http__0";

    /// <summary>The address dependants reach it at: nginx on the stack's network, under the project's name.</summary>
    [JsonIgnore] public string Address => $"http://{Name}:{Proxy.NginxConfigWriter.ContainerPort.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>A StackProject item's settings as <see cref="StackProjects.Validate"/> parsed them: Route without a trailing '/', AppProtocol as set ("" when not).</summary>
internal sealed record CheckedProject(string Route, bool StripPrefix, int Replicas, int AppPort, string AppProtocol);

/// <summary>StackProject items: checked all at once (each problem named with its item and metadata), then built.</summary>
internal static partial class StackProjects
{
    [GeneratedRegex(@"^[a-z][a-z0-9-]{0,30}\z")]
    private static partial Regex NamePattern();

    /// <summary>A path prefix that can be written into nginx's config as it is: segments of unreserved characters.</summary>
    [GeneratedRegex(@"^(/[A-Za-z0-9._~-]+)+/?\z")]
    private static partial Regex RoutePattern();

    private static readonly string[] Reserved = ["app", "proxy", "net", "keys"];

    /// <summary>"Api.Orders" → "api-orders": the default name, from the project file's name.</summary>
    public static string DefaultName(string projectPath) =>
        StackNames.Normalize(Path.GetFileNameWithoutExtension(projectPath))?.Replace('.', '-').Replace('_', '-') ?? "";

    /// <summary>The longest DNS label: nginx resolves each replica by its container name.</summary>
    private const int MaxDnsLabel = 63;

    /// <summary>
    /// Checks every StackProject item at once; returns those without a problem by name, their settings parsed (the rest are
    /// named in <paramref name="d"/>).
    /// </summary>
    public static IReadOnlyDictionary<string, CheckedProject> Validate(StackInput input, List<Diagnostic> d)
    {
        var valid = new Dictionary<string, CheckedProject>(StringComparer.Ordinal);
        var stack = StackNames.Normalize(input.StackName.Length > 0 ? input.StackName : input.ProjectName);
        var containers = input.Containers.Select(c => c.Name.Trim()).ToHashSet(StringComparer.Ordinal);
        var projects = input.Projects.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var known = containers.Concat(projects).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var routes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in input.Projects)
        {
            var name = p.Name;
            var before = d.Count;
            void Bad(string metadata, string value, string fix) => d.Add(Diagnostic.Error(nameof(Strings.StackProjectInvalid), name, metadata, value, fix));
            if (!p.Exists) Bad("Include", p.Path, "name the project file of another ASP.NET Core project, relative to this project");
            if (!NamePattern().IsMatch(name) || Reserved.Contains(name))
                Bad("Name", name, "use a lower-case DNS name (letters, digits and '-', at most 31; not app, proxy, net or keys): dependants reach it by this name");
            else if (!seen.Add(name) || containers.Contains(name)) Bad("Name", name, "give each StackProject and StackContainer its own name");
            else if (containers.FirstOrDefault(c => c.StartsWith(name + "-", StringComparison.Ordinal)) is { } clash)
                Bad("Name", name, $"its replicas would be named like StackContainer '{clash}' ({name}-1, …): rename one of them");
            else if (stack is not null && StackNames.App(stack, StackValidator.MaxReplicas, name).Length > MaxDnsLabel)
                Bad("Name", name, $"with the stack '{stack}' its replicas' names ({StackNames.App(stack, StackValidator.MaxReplicas, name)}) would be longer than the {MaxDnsLabel} characters a DNS name may have, which nginx resolves them by: use a shorter Name or StackName");
            // No Route: a background service, whose settings of an HTTP app would do nothing.
            var served = p.Route.Trim().Length > 0;
            var route = served ? NormalizeRoute(p.Route) : "";
            // Said once here; below, a background service's HTTP settings are read as unset.
            var (appPortText, healthPathText, stripPrefixText, protocolText) = served ? (p.AppPort, p.HealthPath, p.StripPrefix, p.AppProtocol) : ("", "", "", "");
            if (!served)
            {
                foreach (var (metadata, value) in new[] { ("AppPort", p.AppPort), ("HealthPath", p.HealthPath), ("StripPrefix", p.StripPrefix), ("AppProtocol", p.AppProtocol) }.Where(m => m.Item2.Trim().Length > 0))
                    Bad(metadata, value, $"a StackProject without Route runs in the background and nginx does not serve it: leave {metadata} out, or give it a Route such as Route=\"/{name}\"");
            }
            else if (route is null) Bad("Route", p.Route, "use a path prefix such as /api (letters, digits and . _ ~ -, segments separated by '/'); '/' is the front project's");
            else if (routes.TryGetValue(route, out var other)) Bad("Route", p.Route, $"StackProject '{other}' is served there already: give each its own prefix");
            else routes[route] = name;
            var replicas = p.Replicas.Trim().Length == 0 ? 1 : StackValidator.ParseInt(p.Replicas) is int r and >= 1 and <= StackValidator.MaxReplicas ? r : (int?)null;
            if (replicas is null) Bad("Replicas", p.Replicas, $"use a whole number from 1 to {StackValidator.MaxReplicas}");
            var appPort = appPortText.Trim().Length == 0 ? 8080 : StackValidator.ParseInt(appPortText) is int port and >= 1 and <= 65535 ? port : (int?)null;
            if (appPort is null) Bad("AppPort", p.AppPort, "use the port the app listens on in its container, 1–65535 (8080 for the .NET images)");
            if (healthPathText.Length > 0 && !StackValidator.IsValidHealthPath(healthPathText))
                Bad("HealthPath", p.HealthPath, "use a path such as /healthz");
            var stripPrefix = stripPrefixText.Trim().Length == 0 ? true : StackValidator.ParseBool(stripPrefixText);
            if (stripPrefix is null) Bad("StripPrefix", p.StripPrefix, "use true or false");
            var protocol = AppProtocols.Parse(protocolText);
            if (protocol is null) Bad("AppProtocol", p.AppProtocol, "use http1, or http2 for an app whose endpoints speak HTTP/2 only (gRPC); leave it empty to read its appsettings.json");
            foreach (var dep in BackingServices.Split(p.DependsOn).Where(x => !known.Contains(x) || x == name))
                d.Add(Diagnostic.Error(nameof(Strings.DependencyUnknown), name, dep, Known(known.Where(k => k != name).ToList())));
            StackValidator.ValidateEnvironment(p.ItemEnvironment, p.Secrets, d);
            if (d.Count == before && route is not null && replicas is { } rs && appPort is { } ap && stripPrefix is { } strip && protocol is not null)
                valid[name] = new CheckedProject(route, strip, rs, ap, protocol);
        }
        foreach (var (item, project) in input.UnknownProjectEnvironment)
            d.Add(Diagnostic.Error(nameof(Strings.EnvironmentProjectUnknown), item, project, Known(projects)));
        if (BackingServices.FindCycle(input.Projects, p => p.Name, p => p.DependsOn) is { } cycle) d.Add(Diagnostic.Error(nameof(Strings.DependencyCycle), string.Join(" → ", cycle)));
        return valid;
    }

    /// <summary>
    /// The projects of valid input, in the order they start (each after the projects it depends on), from their settings as
    /// <see cref="Validate"/> parsed them; <paramref name="sharedKeys"/> is StackSharedKeys as validated (null when not set).
    /// </summary>
    public static IReadOnlyList<AppProject> Build(StackInput input, IReadOnlyDictionary<string, CheckedProject> valid, bool? sharedKeys) =>
        BackingServices.StartOrder(input.Projects, p => p.Name, p => p.DependsOn).Select(p =>
    {
        var settings = valid[p.Name];
        var served = settings.Route.Length > 0;
        var environment = p.ItemEnvironment.GroupBy(e => e.Key, StringComparer.Ordinal).Select(g => g.Last()).OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
        var (healthPath, healthStrict) = HealthChecks.Probe(p.HealthPath, p.DiscoveredHealthPath);
        return new AppProject
        {
            Name = p.Name,
            Route = settings.Route,
            StripPrefix = settings.StripPrefix,
            Replicas = settings.Replicas,
            AppPort = settings.AppPort,
            // Each decided as for the front project, from this project's own metadata, code and appsettings.json.
            AppProtocol = !served ? AppProtocols.Http1 : AppProtocols.Of(settings.AppProtocol, p.DetectedHttp2Only),
            HealthPath = healthPath,
            HealthStrict = healthStrict,
            Environment = environment,
            Secrets = p.Secrets.OrderBy(x => x.Name, StringComparer.Ordinal).ToList(),
            DependsOn = BackingServices.Split(p.DependsOn).Distinct(StringComparer.Ordinal).ToList(),
            // A background service takes no requests, so no sign-in cookie or antiforgery token to share: no key ring.
            KeyRingDirectory = !served ? "" : KeyRing.DirectoryFor(sharedKeys, p.StoresOwnKeys, environment),
        };
    }).ToList();

    /// <summary>"/api/" → "/api"; null for anything that is not a prefix other than "/".</summary>
    public static string? NormalizeRoute(string raw)
    {
        var route = raw.Trim();
        return RoutePattern().IsMatch(route) ? route.TrimEnd('/') : null;
    }

    private static string Known(IReadOnlyCollection<string> names) => names.Count == 0 ? "(none)" : string.Join(", ", names.Order(StringComparer.Ordinal));
}
