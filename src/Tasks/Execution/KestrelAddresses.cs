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

    /// <summary>A plain-HTTP address: its host (an IPv6 one in brackets) and port, if given.</summary>
    [GeneratedRegex(@"^http://(\[[^\]]*\]|[^:/]+)(?::(\d+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex HttpAddress();

    /// <summary>A plain-HTTP address's host (brackets taken off) and port (80 when not given); null for any other address.</summary>
    private static (string Host, int Port)? Parse(string url) =>
        HttpAddress().Match(url) is { Success: true } m
            ? (m.Groups[1].Value.Trim('[', ']'), m.Groups[2].Success && int.TryParse(m.Groups[2].Value, out var p) ? p : 80)
            : null;

    /// <summary>Kestrel's ways of naming every interface.</summary>
    private static bool EveryInterface(string host) => host is "+" or "*" or "0.0.0.0" or "::";

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
    public static bool Reaches(string url, int port) =>
        Parse(url) is { } at && at.Port == port
        && (EveryInterface(at.Host) || (!at.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            && !(System.Net.IPAddress.TryParse(at.Host, out var address) && System.Net.IPAddress.IsLoopback(address))));

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
        urls.Select(Parse).FirstOrDefault(at => at is { } a && EveryInterface(a.Host))?.Port;
}
