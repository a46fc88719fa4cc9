using System.Text.RegularExpressions;

namespace ProxyStack.Execution;

/// <summary>
/// What an ASP.NET Core app says it listens on, read from its own output: Kestrel logs "Now listening on: &lt;url&gt;" for every
/// address it bound, then "Application started." (Microsoft.Hosting.Lifetime, at Information in every template's settings; in
/// the simple and the JSON console formats alike). An app whose code or configuration names its own address (app.Run(url),
/// UseUrls, a Kestrel:Endpoints entry, ASPNETCORE_URLS) listens where nginx cannot reach it — loopback, or another port —
/// and would otherwise only be found out by StackReadyTimeout.
/// </summary>
internal static partial class KestrelAddresses
{
    [GeneratedRegex(@"Now listening on: ([a-zA-Z][a-zA-Z0-9+.-]*://[^\s""',}\\]+)")]
    private static partial Regex ListeningLine();

    /// <summary>The addresses <paramref name="logs"/> say the app listens on, and whether it said it has started (after which
    /// it binds no more).</summary>
    public static (IReadOnlyList<string> Urls, bool Started) Read(string logs) =>
        ([.. ListeningLine().Matches(logs).Select(m => m.Groups[1].Value.TrimEnd('.', '/')).Distinct(StringComparer.Ordinal)],
         logs.Contains("Application started", StringComparison.Ordinal));

    /// <summary>
    /// Whether a request from another container to plain HTTP on <paramref name="port"/> reaches an app listening on
    /// <paramref name="url"/>: plain http, that port, on every interface (<c>+</c>, <c>*</c>, <c>0.0.0.0</c>, <c>[::]</c>)
    /// or on an address that is not loopback (the container's own).
    /// </summary>
    public static bool Reaches(string url, int port)
    {
        var match = Regex.Match(url, @"^http://(\[[^\]]*\]|[^:/]+)(?::(\d+))?$", RegexOptions.IgnoreCase);
        if (!match.Success) return false;
        var listening = match.Groups[2].Success && int.TryParse(match.Groups[2].Value, out var p) ? p : 80;
        if (listening != port) return false;
        var host = match.Groups[1].Value.Trim('[', ']');
        if (host is "+" or "*" or "0.0.0.0" or "::") return true;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return false;
        return !System.Net.IPAddress.TryParse(host, out var address) || !System.Net.IPAddress.IsLoopback(address);
    }

    /// <summary>
    /// The addresses the app listens on when it has started and none of them is reachable on <paramref name="port"/>; null when
    /// it has not said yet, said nothing, or one of them is.
    /// </summary>
    public static IReadOnlyList<string>? Unreachable(string logs, int port)
    {
        var (urls, started) = Read(logs);
        return started && urls.Count > 0 && !urls.Any(u => Reaches(u, port)) ? urls : null;
    }

    /// <summary>A port the app listens on for every interface over plain HTTP, if any: what StackAppPort could be set to instead.</summary>
    public static int? OpenPort(IReadOnlyList<string> urls) =>
        urls.Select(u => Regex.Match(u, @"^http://(?:\+|\*|0\.0\.0\.0|\[::\]):(\d+)$", RegexOptions.IgnoreCase))
            .Where(m => m.Success).Select(m => (int?)int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
}
