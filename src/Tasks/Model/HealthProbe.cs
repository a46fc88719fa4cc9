using System.Text.RegularExpressions;

namespace ProxyStack.Model;

/// <summary>
/// What makes a replica (and the proxy) ready: GET <paramref name="Path"/> answered with a success status — 2xx/3xx when
/// <paramref name="Strict"/> (a path the user set, or the app's own health checks), else anything below 500: with no path
/// set, any answer that is not a server error means the app serves (an API without "/" answers 404 there and is up).
/// </summary>
internal sealed record HealthProbe(string Path, bool Strict)
{
    public bool Passes(int status) => Strict ? status < 400 : status < 500;

    /// <summary>"GET /healthz (2xx or 3xx)", for messages.</summary>
    public override string ToString() => $"GET {Path} ({(Strict ? "2xx or 3xx" : "any status below 500")})";
}

/// <summary>Finds the path of the project's ASP.NET Core health checks, when its code maps them at a literal path.</summary>
internal static partial class HealthChecks
{
    [GeneratedRegex(@"MapHealthChecks\(\s*""(/[^""]*)""")]
    private static partial Regex MapHealthChecksCall();

    /// <summary>The first literal path given to MapHealthChecks in the sources, or null.</summary>
    public static string? Discover(IEnumerable<string> sources) =>
        sources.Select(s => MapHealthChecksCall().Match(s)).FirstOrDefault(m => m.Success)?.Groups[1].Value;
}
