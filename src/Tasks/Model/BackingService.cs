using System.Globalization;
using System.Text.Json.Serialization;

namespace ProxyStack.Model;

/// <summary>
/// A backing container of the stack (a StackContainer item): a database, a cache, a queue — a service from an image that the
/// app replicas depend on. It joins the stack's network under its own name (what its dependants connect to), is never
/// published unless HostPort asks for it, and is started, in dependency order, before anything that depends on it.
/// </summary>
internal sealed record BackingService
{
    /// <summary>The item's name: its DNS name on the stack's network. Example: cache</summary>
    public required string Name { get; init; }
    /// <summary>The image, mirror applied. Example: localhost:5000/library/redis:7</summary>
    public required string Image { get; init; }
    /// <summary>The port it serves on inside the network (0: none named and none known for its image). Example: 6379</summary>
    public int Port { get; init; }
    /// <summary>Host port it is published on, on StackHostAddress (0: not published).</summary>
    public int HostPort { get; init; }
    /// <summary>Sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];
    /// <summary>Named volumes (full volume names) and where they are mounted.</summary>
    public IReadOnlyList<ServiceVolume> Volumes { get; init; } = [];
    /// <summary>Arguments replacing the image's command (empty: the image's own).</summary>
    public IReadOnlyList<string> Command { get; init; } = [];
    public required ReadyRule ReadyWhen { get; init; }
    /// <summary>Other backing containers this one starts after (each ready first).</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];
    /// <summary>
    /// What dependants get as ConnectionStrings__{Name} (empty: nothing). A secret setting in it (a password from FromEnvironment
    /// or FromFile) stands as <see cref="SecretPlaceholder"/> until ApplyStack reads the value.
    /// </summary>
    public string ConnectionString { get; init; } = "";
    /// <summary>Secret environment: sources only; ApplyStack reads the values (see <see cref="SecretEnvironment"/>).</summary>
    public IReadOnlyList<SecretSource> Secrets { get; init; } = [];
    /// <summary>In memory only (ApplyStack): names of its environment variables whose values are secrets.</summary>
    [JsonIgnore] public IReadOnlySet<string> SecretNames { get; init; } = new HashSet<string>();
    /// <summary>In memory only: a keyed digest of its secret values (see <see cref="SecretDigests"/>); null without secrets.</summary>
    [JsonIgnore] public string? SecretDigest { get; init; }

    /// <summary>Where a secret value goes in <see cref="ConnectionString"/> until it is read: "secret:POSTGRES_PASSWORD" between two U+0001 characters.</summary>
    public static string SecretPlaceholder(string name) => $"\u0001secret:{name}\u0001";

    [JsonIgnore] public string EnvironmentName => "ConnectionStrings__" + Name;
}

/// <summary>A named volume (its full name, with the stack's prefix) at <paramref name="Target"/> in the container.</summary>
internal sealed record ServiceVolume(string Name, string Target);

/// <summary>
/// When a backing container counts as ready (ReadyWhen metadata):
/// - tcp: something listens on its port inside the container (read from /proc/net/tcp by a command run in the container);
/// - log:&lt;regex&gt;: its output has a line matching the pattern;
/// - command:&lt;shell command&gt;: the command exits 0 inside the container (sh -c);
/// - http:&lt;path&gt;: the path answers 2xx/3xx on its port;
/// - running: the container is running (no port named or known).
/// </summary>
internal sealed record ReadyRule(string Kind, string Argument)
{
    public const string Tcp = "tcp";
    public const string Log = "log";
    public const string Command = "command";
    public const string Http = "http";
    public const string Running = "running";
    public static readonly string[] Kinds = [Tcp, Log, Command, Http, Running];

    /// <summary>"tcp", "log:ready to accept", … or null when the text is no rule.</summary>
    public static ReadyRule? Parse(string raw)
    {
        var text = raw.Trim();
        var colon = text.IndexOf(':');
        var kind = (colon < 0 ? text : text[..colon]).Trim().ToLowerInvariant();
        var argument = colon < 0 ? "" : text[(colon + 1)..].Trim();
        return kind switch
        {
            Tcp or Running when argument.Length == 0 => new ReadyRule(kind, ""),
            Log or Command when argument.Length > 0 => new ReadyRule(kind, argument),
            Http when StackValidator.IsValidHealthPath(argument) => new ReadyRule(kind, argument),
            _ => null,
        };
    }

    public override string ToString() => Argument.Length == 0 ? Kind : $"{Kind}:{Argument}";
}

/// <summary>
/// What ProxyStack knows about the public images users put behind StackContainer: the port they serve on and the connection
/// string .NET's clients read (Npgsql's keywords, StackExchange.Redis's host:port), built from the container's own settings.
/// </summary>
internal static class KnownImages
{
    /// <summary>The image's repository without registry, namespace or tag: "localhost:5000/library/redis:7" → "redis".</summary>
    public static string Kind(string image)
    {
        var reference = ImageReference.Parse(image);
        var repository = reference?.Repository ?? image;
        return repository[(repository.LastIndexOf('/') + 1)..].ToLowerInvariant();
    }

    public static int DefaultPort(string image) => Kind(image) switch
    {
        "redis" or "valkey" => 6379,
        "postgres" => 5432,
        _ => 0,
    };

    /// <summary>
    /// ConnectionStrings__{name} for a known image, from its environment (the variables the public image documents); the
    /// item's ConnectionString metadata ({host}, {port}) wins. Empty: nothing to say.
    /// </summary>
    public static string ConnectionString(string image, string name, int port, IReadOnlyList<KeyValuePair<string, string>> environment, string template)
    {
        var p = port.ToString(CultureInfo.InvariantCulture);
        if (template.Length > 0) return template.Replace("{host}", name, StringComparison.Ordinal).Replace("{port}", p, StringComparison.Ordinal);
        string? Env(string key) => environment.FirstOrDefault(e => e.Key == key).Value;
        switch (Kind(image))
        {
            case "redis" or "valkey":
                return $"{name}:{p}";
            case "postgres":
                var user = Env("POSTGRES_USER") is { Length: > 0 } u ? u : "postgres";
                var database = Env("POSTGRES_DB") is { Length: > 0 } db ? db : user;
                var password = Env("POSTGRES_PASSWORD") is { Length: > 0 } pw ? $";Password={pw}" : "";
                return $"Host={name};Port={p};Username={user}{password};Database={database}";
            default:
                return "";
        }
    }
}
