namespace ProxyStack.Model;

/// <summary>
/// The shared Data Protection key ring (StackSharedKeys). ASP.NET Core signs and encrypts authentication cookies, antiforgery
/// tokens, TempData and session cookies with the keys of its key ring; by default each container keeps its own ring, so a
/// payload one replica issued is refused by another, and by every replica after a redeploy. ProxyStack gives every replica
/// of a project one ring in a named volume that outlives replacements and StackDown.
///
/// Where: ASP.NET Core's default key directory on Linux is $LOCALAPPDATA/ASP.NET/DataProtection-Keys when LOCALAPPDATA is
/// set, else $HOME/.aspnet/DataProtection-Keys (DefaultKeyStorageDirectories). ProxyStack sets LOCALAPPDATA (unless the
/// project sets it in StackEnvironment, whose directory is then used) and mounts the volume there, so the app's code is not
/// changed and the path does not depend on the image's user or home. The volume's root is given to the container's user
/// (mode 0700) when a replica is created.
/// </summary>
internal static class KeyRing
{
    /// <summary>LOCALAPPDATA as ProxyStack sets it in the replicas.</summary>
    public const string DefaultLocalAppData = "/proxystack";
    public const string LocalAppDataVariable = "LOCALAPPDATA";

    /// <summary>
    /// Calls that configure where the app keeps its keys (PersistKeysToFileSystem, …ToStackExchangeRedis, …ToDbContext,
    /// …ToAzureBlobStorage): such an app keeps its own storage, and ProxyStack mounts no ring unless told to.
    /// </summary>
    public const string OwnStorageMarker = "PersistKeysTo";

    public static bool ConfiguresOwnStorage(IEnumerable<string> sources) =>
        sources.Any(text => text.Contains(OwnStorageMarker, StringComparison.Ordinal));

    /// <summary>
    /// The project's own LOCALAPPDATA (StackEnvironment), or null when it sets none or an empty one — then ProxyStack sets
    /// <see cref="DefaultLocalAppData"/>. The one rule the model's key directory and the replicas' environment both follow.
    /// </summary>
    public static string? OwnLocalAppData(IEnumerable<KeyValuePair<string, string>> environment) =>
        environment.LastOrDefault(e => e.Key == LocalAppDataVariable).Value is { Length: > 0 } own ? own : null;

    /// <summary>The key directory inside a replica for a LOCALAPPDATA value.</summary>
    public static string Directory(string localAppData) => localAppData.TrimEnd('/') + "/ASP.NET/DataProtection-Keys";
}
