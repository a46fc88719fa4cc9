using System.Text.RegularExpressions;

namespace ProxyStack.Model;

/// <summary>
/// What makes a replica (and the proxy) ready: GET <paramref name="Path"/> answered with a success status — 2xx/3xx when
/// <paramref name="Strict"/> (a path the user set, or the app's own health checks), else anything below 500: with no path
/// set, any answer that is not a server error means the app serves (an API without "/" answers 404 there and is up).
/// </summary>
/// <param name="Path">The path asked for.</param>
/// <param name="Strict">2xx/3xx needed, rather than anything below 500.</param>
/// <param name="Http2">Probe over HTTP/2 with prior knowledge: the app speaks nothing else (gRPC).</param>
internal sealed record HealthProbe(string Path, bool Strict, bool Http2 = false)
{
    /// <summary>Any HTTP answer passes: the proxy in front of an app on the host that starts only after the bring-up (nginx answers 502 until then).</summary>
    public bool AnyAnswer { get; init; }

    /// <summary>
    /// Any answer but nginx's own "no replica answered" (502, 504) passes: a StackProject's route through the proxy, whose
    /// replicas already passed their own probe, so what is asked is whether nginx reaches one, not what the app says there.
    /// </summary>
    public bool ReachesReplica { get; init; }

    /// <summary>
    /// No HTTP at all: a background service (a StackProject without Route) is ready once its .NET host says "Application
    /// started." in its output (Microsoft.Hosting.Lifetime, at Information by default), which follows every hosted service's
    /// start — nginx sends it nothing, so there is nothing to ask.
    /// </summary>
    public bool HostStarted { get; init; }

    /// <summary>The readiness of a background service (<see cref="HostStarted"/>).</summary>
    public static readonly HealthProbe BackgroundService = new("", Strict: true) { HostStarted = true };

    public bool Passes(int status) => AnyAnswer || (ReachesReplica ? status is not (502 or 504) : Strict ? status < 400 : status < 500);

    /// <summary>"GET /healthz (2xx or 3xx)", for messages.</summary>
    public override string ToString() => HostStarted ? "\"Application started.\" in its output" :
        $"GET {Path} ({(AnyAnswer ? "any answer" : ReachesReplica ? "any answer but 502 or 504" : Strict ? "2xx or 3xx" : "any status below 500")})";
}

/// <summary>Finds the path of the project's ASP.NET Core health checks, when its code maps them at a literal path.</summary>
internal static partial class HealthChecks
{
    [GeneratedRegex(@"MapHealthChecks\s*\(?\s*""(/[^""]*)""")]
    private static partial Regex MapHealthChecksCall();

    /// <summary>
    /// The probe path of a project and whether it must answer 2xx/3xx: the path set (StackHealthPath, HealthPath), else the one
    /// its code maps health checks at (<paramref name="discovered"/>, when a valid path), both strict; else "/", where any
    /// answer below 500 counts (an API without "/" answers 404 there and is up).
    /// </summary>
    public static (string Path, bool Strict) Probe(string set, string? discovered) =>
        set.Length > 0 ? (set, true) : discovered is { } found && StackValidator.IsValidHealthPath(found) ? (found, true) : ("/", false);

    /// <summary>The first literal path given to MapHealthChecks in the sources, or null.</summary>
    public static string? Discover(IEnumerable<string> sources) =>
        sources.Select(s => MapHealthChecksCall().Match(s)).FirstOrDefault(m => m.Success)?.Groups[1].Value;
}

/// <summary>StackAppProtocol: what the app's endpoints speak.</summary>
internal static class AppProtocols
{
    public const string Http1 = "http1";
    public const string Http2 = "http2";
    public static readonly string[] All = [Http1, Http2];

    /// <summary>What a project's endpoints speak: <paramref name="set"/> (as <see cref="Parse"/> gave it) when given, else http2 when its appsettings.json limits them to HTTP/2.</summary>
    public static string Of(string set, bool detectedHttp2Only) =>
        set.Length > 0 ? set : detectedHttp2Only ? Http2 : Http1;

    /// <summary>StackAppProtocol as set, normalized: http1, http2, "" when not set, or null when it is neither (STACK1035).</summary>
    public static string? Parse(string raw) => raw.Trim().ToLowerInvariant() is var p && (p.Length == 0 || All.Contains(p)) ? p : null;

    /// <summary>
    /// Whether appsettings.json makes every Kestrel endpoint HTTP/2-only (Kestrel:EndpointDefaults:Protocols = Http2, the
    /// grpc template's setting). Unreadable JSON says nothing.
    /// </summary>
    public static bool Http2OnlyIn(string? appSettingsJson)
    {
        using var doc = AppSettingsJson.Parse(appSettingsJson);
        return doc is not null && AppSettingsJson.Property(doc.RootElement, "Kestrel") is { } kestrel && AppSettingsJson.Property(kestrel, "EndpointDefaults") is { } defaults
            && AppSettingsJson.Property(defaults, "Protocols") is { ValueKind: System.Text.Json.JsonValueKind.String } protocols
            && string.Equals(protocols.GetString(), "Http2", StringComparison.OrdinalIgnoreCase);
    }
}
