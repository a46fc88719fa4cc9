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

    /// <summary>
    /// Where a secret value goes in <see cref="ConnectionString"/> until it is read: "secret:POSTGRES_PASSWORD" between two U+0001
    /// characters; "secret-uri:…" inside a URL (mongodb://, amqp://), where the value is escaped as it goes in.
    /// </summary>
    public static string SecretPlaceholder(string name, bool inUri = false) => $"\u0001{(inUri ? "secret-uri" : "secret")}:{name}\u0001";

    /// <summary>The secret's name when <paramref name="text"/> is a whole <see cref="SecretPlaceholder"/> (not a URL one), else null.</summary>
    public static string? SecretName(string text) =>
        text.StartsWith("\u0001secret:", StringComparison.Ordinal) && text.EndsWith('\u0001') && text.Length > 9 ? text[8..^1] : null;

    /// <summary>
    /// <paramref name="connection"/> with each secret's placeholders replaced by its value: quoted as a connection string's
    /// value where it needs to be (a ';' in a password), escaped inside a URL.
    /// </summary>
    public static string FillSecrets(string connection, IEnumerable<KeyValuePair<string, string>> values) =>
        values.Aggregate(connection, (text, v) => text
            .Replace(SecretPlaceholder(v.Key), KnownImages.KeywordValue(v.Value), StringComparison.Ordinal)
            .Replace(SecretPlaceholder(v.Key, inUri: true), Uri.EscapeDataString(v.Value), StringComparison.Ordinal));

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
/// string .NET's clients read, built from the variables the image documents for its first start (the password, the user,
/// the database it creates): Npgsql's keywords for postgres, MySqlConnector's (and MySql.Data's) for mysql and mariadb,
/// Microsoft.Data.SqlClient's for SQL Server, a mongodb:// URL for mongo, an amqp:// URI for rabbitmq, StackExchange.Redis's
/// host:port for redis and valkey.
/// </summary>
internal static class KnownImages
{
    /// <summary>The image's repository without registry, namespace or tag: "localhost:5000/library/redis:7" → "redis".</summary>
    public static string Kind(string image)
    {
        var repository = Repository(image);
        // SQL Server's image has a generic last segment ("server"): it is known by its whole path.
        if (repository.EndsWith("mssql/server", StringComparison.Ordinal)) return "mssql";
        return repository[(repository.LastIndexOf('/') + 1)..];
    }

    private static string Repository(string image) => (ImageReference.Parse(image)?.Repository ?? image).ToLowerInvariant();

    public static int DefaultPort(string image) => Kind(image) switch
    {
        "redis" or "valkey" => 6379,
        "postgres" => 5432,
        "mysql" or "mariadb" => 3306,
        "mssql" => 1433,
        "mongo" => 27017,
        "rabbitmq" => 5672,
        _ => 0,
    };

    /// <summary>
    /// The variables the image reads only when it initializes an empty data directory (its documented first-start settings):
    /// changed later, they no longer reach the server kept in its volume (see <see cref="FirstStartSettings"/>).
    /// </summary>
    public static IReadOnlyList<string> FirstStartVariables(string image) => Kind(image) switch
    {
        "postgres" => ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"],
        "mysql" => ["MYSQL_ROOT_PASSWORD", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE"],
        "mariadb" => ["MARIADB_ROOT_PASSWORD", "MARIADB_USER", "MARIADB_PASSWORD", "MARIADB_DATABASE", "MYSQL_ROOT_PASSWORD", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE"],
        "mssql" => ["MSSQL_SA_PASSWORD", "SA_PASSWORD"],
        "mongo" => ["MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD", "MONGO_INITDB_DATABASE"],
        "rabbitmq" => ["RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS", "RABBITMQ_DEFAULT_VHOST"],
        _ => [],
    };

    /// <summary>
    /// ConnectionStrings__{name} for a known image, from its environment (the variables the public image documents); the
    /// item's ConnectionString metadata ({host}, {port}) wins. Empty: nothing to say.
    /// </summary>
    public static string ConnectionString(string image, string name, int port, IReadOnlyList<KeyValuePair<string, string>> environment, string template)
    {
        var p = port.ToString(CultureInfo.InvariantCulture);
        if (template.Length > 0) return template.Replace("{host}", name, StringComparison.Ordinal).Replace("{port}", p, StringComparison.Ordinal);
        // The first of the variables that is set and not empty (mariadb reads its MARIADB_* names before the MYSQL_* ones).
        string? Env(params string[] keys) => keys.Select(k => environment.FirstOrDefault(e => e.Key == k).Value).FirstOrDefault(v => v is { Length: > 0 });
        string Keyword(string key, string? value) => value is null ? "" : $";{key}={KeywordValue(value)}";
        var kind = Kind(image);
        switch (kind)
        {
            case "redis" or "valkey":
                return $"{name}:{p}";
            case "postgres":
                var user = Env("POSTGRES_USER") ?? "postgres";
                return $"Host={name};Port={p}{Keyword("Username", user)}{Keyword("Password", Env("POSTGRES_PASSWORD"))}{Keyword("Database", Env("POSTGRES_DB") ?? user)}";
            case "mysql" or "mariadb":
            {
                string[] Names(string suffix) => kind == "mariadb" ? ["MARIADB_" + suffix, "MYSQL_" + suffix] : ["MYSQL_" + suffix];
                // The image creates MYSQL_USER with MYSQL_PASSWORD, granted the database: the app's user. Otherwise root.
                var (login, password) = Env(Names("USER")) is { } u && Env(Names("PASSWORD")) is { } pw ? (u, pw) : ("root", Env(Names("ROOT_PASSWORD")));
                return $"Server={name};Port={p}{Keyword("User ID", login)}{Keyword("Password", password)}{Keyword("Database", Env(Names("DATABASE")))}";
            }
            case "mssql":
                return $"Server={name},{p};User ID=sa{Keyword("Password", Env("MSSQL_SA_PASSWORD", "SA_PASSWORD"))};TrustServerCertificate=true";
            case "mongo":
            {
                // The root user is created in the admin database, so that is where it authenticates.
                var credentials = Env("MONGO_INITDB_ROOT_USERNAME") is { } u && Env("MONGO_INITDB_ROOT_PASSWORD") is { } pw ? $"{UriPart(u)}:{UriPart(pw)}@" : "";
                var database = Env("MONGO_INITDB_DATABASE") is { } db ? UriPart(db) : "";
                return $"mongodb://{credentials}{name}:{p}/{database}{(credentials.Length > 0 ? "?authSource=admin" : "")}";
            }
            case "rabbitmq":
            {
                var vhost = Env("RABBITMQ_DEFAULT_VHOST") is { } v && v != "/" ? "/" + UriPart(v) : "";
                return $"amqp://{UriPart(Env("RABBITMQ_DEFAULT_USER") ?? "guest")}:{UriPart(Env("RABBITMQ_DEFAULT_PASS") ?? "guest")}@{name}:{p}{vhost}";
            }
            default:
                return "";
        }
    }

    /// <summary>
    /// A value of a keyword connection string (Npgsql's, MySqlConnector's, SqlClient's: all read by DbConnectionStringBuilder's
    /// rules), quoted when it holds a ';', a quote or an '=' or has spaces at its ends; a secret's placeholder as it is (quoted
    /// when the value is read).
    /// </summary>
    internal static string KeywordValue(string value)
    {
        if (BackingService.SecretName(value) is not null) return value;
        var pair = new System.Text.StringBuilder();
        System.Data.Common.DbConnectionStringBuilder.AppendKeyValuePair(pair, "k", value);
        return pair.ToString(2, pair.Length - 2);
    }

    /// <summary>A value inside a URL, escaped; a secret's placeholder becomes its URL form, escaped when the value is read.</summary>
    private static string UriPart(string value) =>
        BackingService.SecretName(value) is { } secret ? BackingService.SecretPlaceholder(secret, inUri: true) : Uri.EscapeDataString(value);
}
