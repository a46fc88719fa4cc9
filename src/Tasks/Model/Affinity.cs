namespace ProxyStack.Model;

/// <summary>
/// StackSessionAffinity: how nginx keeps a client on one replica, which SignalR (negotiate, then connect) and interactive
/// server rendering (a circuit lives in one replica's memory) need once there is more than one replica.
/// - none: round robin; every request may go to another replica.
/// - cookie: nginx sets a random cookie on a client's first response and picks the replica by a consistent hash of it, so a
///   client stays on its replica, and a replica change moves only the clients of the replicas that changed. Rolling
///   replacement keeps replica names, so it moves nobody.
/// - ip: a hash of the client's address (every client behind one address shares a replica).
/// </summary>
internal static class Affinity
{
    public const string None = "none";
    public const string Cookie = "cookie";
    public const string Ip = "ip";
    public static readonly string[] Modes = [None, Cookie, Ip];

    /// <summary>The cookie nginx sets for cookie affinity.</summary>
    public const string CookieName = "proxystack_affinity";

    /// <summary>Source markers of SignalR or interactive server rendering, searched in the project's compiled files.</summary>
    public static readonly string[] SignalRMarkers = ["AddSignalR(", "MapHub<", "AddInteractiveServerComponents(", "AddServerSideBlazor(", "MapBlazorHub("];

    public static bool UsesSignalR(IEnumerable<string> sources) =>
        sources.Any(text => SignalRMarkers.Any(m => text.Contains(m, StringComparison.Ordinal)));

    /// <summary>
    /// Registrations of a distributed cache that every replica shares (Redis, SQL Server, PostgreSQL, Cosmos DB, MongoDB,
    /// NCache, and Aspire's Redis client): session state kept there is the app's, not one replica's.
    /// </summary>
    public static readonly string[] SharedCacheMarkers =
    [
        "AddStackExchangeRedisCache(", "AddRedisDistributedCache(", "AddDistributedSqlServerCache(", "AddDistributedPostgreSqlCache(",
        "AddDistributedPostgresCache(", "AddCosmosCache(", "AddMongoDbCache(", "AddNCacheDistributedCache(",
    ];

    /// <summary>
    /// The project's code uses session state (AddSession) and registers no shared distributed cache, so each replica keeps
    /// its sessions in its own memory (AddDistributedMemoryCache, the default): without affinity a client's next request
    /// lands on a replica that never saw its session.
    /// </summary>
    public static bool UsesInMemorySession(IEnumerable<string> sources)
    {
        var texts = sources.ToList();
        return texts.Any(text => text.Contains("AddSession(", StringComparison.Ordinal))
            && !texts.Any(text => SharedCacheMarkers.Any(m => text.Contains(m, StringComparison.Ordinal)));
    }
}
