using System.Text.RegularExpressions;

namespace ProxyStack.Model;

/// <summary>A parsed image reference: [registry/]repository[:tag][@digest], following the distribution reference grammar.</summary>
internal sealed partial record ImageReference(string? Registry, string Repository, string? Tag, string? Digest)
{
    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\z")]
    private static partial Regex PathComponent();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\z")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?\z")]
    private static partial Regex RegistryPattern();

    [GeneratedRegex(@"^sha256:[a-f0-9]{64}\z")]
    private static partial Regex DigestPattern();

    public static ImageReference? Parse(string raw)
    {
        if (string.IsNullOrWhiteSpace(raw) || raw.Length > 255 || raw.Any(char.IsWhiteSpace)) return null;
        string? digest = null;
        var at = raw.IndexOf('@');
        if (at >= 0)
        {
            digest = raw[(at + 1)..];
            raw = raw[..at];
            if (!DigestPattern().IsMatch(digest)) return null;
        }
        string? registry = null;
        var slash = raw.IndexOf('/');
        if (slash > 0)
        {
            var first = raw[..slash];
            if (first.Contains('.') || first.Contains(':') || first == "localhost")
            {
                registry = first;
                raw = raw[(slash + 1)..];
                if (!RegistryPattern().IsMatch(registry)) return null;
            }
        }
        string? tag = null;
        var colon = raw.LastIndexOf(':');
        if (colon >= 0)
        {
            tag = raw[(colon + 1)..];
            raw = raw[..colon];
            if (!TagPattern().IsMatch(tag)) return null;
        }
        if (raw.Length == 0 || !raw.Split('/').All(c => PathComponent().IsMatch(c))) return null;
        return new ImageReference(registry, raw, tag, digest);
    }

    /// <summary>
    /// The same image taken from <paramref name="mirror"/>: the registry is replaced, and Docker Hub's implicit "library/" is made
    /// explicit. "mcr.microsoft.com/dotnet/aspnet:10.0" with "localhost:5000" → "localhost:5000/dotnet/aspnet:10.0";
    /// "nginx:stable" → "localhost:5000/library/nginx:stable".
    /// </summary>
    public ImageReference WithMirror(string mirror)
    {
        var path = Registry is null or "docker.io" or "index.docker.io" && !Repository.Contains('/') ? "library/" + Repository : Repository;
        var m = mirror.TrimEnd('/');
        var mslash = m.IndexOf('/');
        return mslash < 0
            ? this with { Registry = m, Repository = path }
            : this with { Registry = m[..mslash], Repository = m[(mslash + 1)..] + "/" + path };
    }

    /// <summary>
    /// Whether the registry is named by a loopback address (localhost:5000, 127.0.0.1:5000): spoken to over plain HTTP, and
    /// this machine's only for whoever runs on it — not for a rootless engine, whose pulls leave from its own network namespace.
    /// </summary>
    public bool OnLoopbackRegistry => Registry?.Split(':')[0] is { } host && (host == "localhost" || host.StartsWith("127.", StringComparison.Ordinal));

    public override string ToString() =>
        (Registry is null ? "" : Registry + "/") + Repository + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    /// <summary>
    /// Whether Docker reads <paramref name="host"/> as a registry: it must have a dot or a port, or be "localhost" — anything else
    /// ("mirror/…") is a Docker Hub namespace. A port must be 1–65535.
    /// </summary>
    private static bool IsRegistryHost(string host)
    {
        var colon = host.IndexOf(':');
        if (colon >= 0 && (!int.TryParse(host[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535))
            return false;
        return colon >= 0 || host.Contains('.') || host == "localhost";
    }

    /// <summary>An image id as messages show it: "sha256:" and the first 12 hex digits, which `docker images` lists.</summary>
    public static string ShortId(string id) => id[..Math.Min(19, id.Length)];

    /// <summary>Whether a string is a valid mirror: a registry host (optional port) with an optional path.</summary>
    public static bool IsValidMirror(string mirror)
    {
        var m = mirror.TrimEnd('/');
        var slash = m.IndexOf('/');
        var host = slash < 0 ? m : m[..slash];
        if (!RegistryPattern().IsMatch(host) || !IsRegistryHost(host)) return false;
        return slash < 0 || m[(slash + 1)..].Split('/').All(c => PathComponent().IsMatch(c));
    }
}
