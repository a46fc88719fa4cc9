namespace ProxyStack.Model;

/// <summary>
/// The shared Data Protection key ring (StackSharedKeys). ASP.NET Core signs and encrypts authentication cookies, antiforgery
/// tokens, TempData and session cookies with the keys of its key ring; by default each container keeps its own ring, so a
/// payload one replica issued is refused by another, and by every replica after a redeploy. ProxyStack gives every replica
/// of a project one ring in a named volume that outlives replacements and StackDown.
///
/// One ring per replica set: the front project's and each StackProject's. A ring belongs to one user (0700), and each
/// project's image may run as its own, so a ring shared between projects would belong to whichever was created last and
/// the others could read no key; and a project's replicas have no reason to read, or forge, what another project protected.
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
    /// Where a project's replicas mount their ring, or "" for none: StackSharedKeys when set, else a ring unless the project's
    /// code keeps its keys itself; it goes where ASP.NET Core looks, under the project's own LOCALAPPDATA when its environment
    /// sets one, else under the one ProxyStack sets.
    /// </summary>
    public static string DirectoryFor(bool? stackSharedKeys, bool storesOwnKeys, IEnumerable<KeyValuePair<string, string>> environment) =>
        (stackSharedKeys ?? !storesOwnKeys)
            ? Directory(OwnLocalAppData(environment) ?? DefaultLocalAppData) : "";

    /// <summary>
    /// The project's own LOCALAPPDATA (StackEnvironment), or null when it sets none or an empty one — then ProxyStack sets
    /// <see cref="DefaultLocalAppData"/>. The one rule the model's key directory and the replicas' environment both follow.
    /// </summary>
    public static string? OwnLocalAppData(IEnumerable<KeyValuePair<string, string>> environment) =>
        environment.LastOrDefault(e => e.Key == LocalAppDataVariable).Value is { Length: > 0 } own ? own : null;

    /// <summary>
    /// A replica set's ring volume without the stack's prefix (a manifest's volume name): "keys" for the front project,
    /// "keys-api" for StackProject api. Backing containers' volumes may not be named so (see BackingServices).
    /// </summary>
    public static string VolumeName(string project) => project.Length == 0 ? ReservedVolumeName : $"{ReservedVolumeName}-{project}";

    /// <summary>The ring volumes' name, and their prefix: not a name for a backing container's volume.</summary>
    public const string ReservedVolumeName = "keys";

    /// <summary>A backing container's volume name that a key ring's volume has, or may have.</summary>
    public static bool IsRingName(string volume) => StackNames.IsOrStartsWith(volume, ReservedVolumeName);

    /// <summary>The key directory inside a replica for a LOCALAPPDATA value.</summary>
    public static string Directory(string localAppData) => localAppData.TrimEnd('/') + "/ASP.NET/DataProtection-Keys";
}
