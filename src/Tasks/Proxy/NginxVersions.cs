using System.Text.RegularExpressions;

namespace ProxyStack.Proxy;

/// <summary>What ProxyStack needs to know about an nginx version.</summary>
internal static partial class NginxVersions
{
    /// <summary>The first nginx with <c>resolve</c> in upstream servers for everyone (before, it was NGINX Plus only).</summary>
    public static readonly Version Resolve = new(1, 27, 3);

    [GeneratedRegex(@"nginx/(\d+)\.(\d+)\.(\d+)")]
    private static partial Regex VersionLine();

    /// <summary>The version in nginx -v's output ("nginx version: nginx/1.30.6"), or null.</summary>
    public static Version? Parse(string output) => VersionLine().Match(output) is { Success: true } m
        ? new Version(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture))
        : null;

    /// <summary>The first nginx with the "http2 on" directive (before, HTTP/2 was a parameter of listen).</summary>
    public static readonly Version Http2Directive = new(1, 25, 1);

    /// <summary>Whether an nginx of this version ("1.30.6"; empty: unknown) re-resolves upstream names.</summary>
    public static bool Resolves(string version) => Supports(version, Resolve);

    /// <summary>Whether an nginx of this version ("1.30.6"; empty: unknown, so no) is at least <paramref name="feature"/>.</summary>
    public static bool Supports(string version, Version feature) => Version.TryParse(version, out var v) && v >= feature;
}
