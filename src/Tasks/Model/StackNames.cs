using System.Text;
using System.Text.RegularExpressions;

namespace ProxyStack.Model;

/// <summary>Derived Docker names. Names are never random: a stack's resources are found again by name and by label.</summary>
internal static partial class StackNames
{
    /// <summary>Longest stack name we accept, leaving room for suffixes such as "-app-16-retiring-0123456789ab".</summary>
    public const int MaxLength = 48;

    public static string Network(string stack) => $"{stack}-net";
    public static string Proxy(string stack) => $"{stack}-proxy";
    public static string App(string stack, int replica, string project = "") => $"{stack}-{(project.Length > 0 ? project : "app")}-{replica}";
    /// <summary>
    /// DNS membership: the name a new replica starts and is probed under, outside nginx's upstream; it is renamed to its slot
    /// name (<see cref="App"/>) once it is ready (with a config reload in the plan, once every new replica is).
    /// </summary>
    public static string Joining(string name) => name + JoiningSuffix;

    private const string JoiningSuffix = "-joining";

    /// <summary>
    /// DNS membership's standby name, "hello-app-standby" (a StackProject's: "hello-api-standby"): a network alias every replica
    /// of the set carries from its creation, which nginx resolves as a backup server (see StackNetworking.Standby). No slot,
    /// joining, retiring or StackContainer name can be it: those end in a number or a suffix of their own, and a StackContainer
    /// may not start with "app-" nor with a StackProject's name and "-".
    /// </summary>
    public static string Standby(string stack, string project = "") => $"{stack}-{(project.Length > 0 ? project : "app")}-standby";

    /// <summary>The slot a replica holds or joins: "hello-app-2" for "hello-app-2-joining" and for "hello-app-2".</summary>
    public static string SlotOf(string name) => name.EndsWith(JoiningSuffix, StringComparison.Ordinal) ? name[..^JoiningSuffix.Length] : name;
    /// <summary>A backing container (StackContainer): "hellostack-cache"; on the stack's network it is also just "cache".</summary>
    public static string Service(string stack, string service) => $"{stack}-{service}";
    public static string ProxyImage(string stack) => $"proxystack/{stack}-proxy";
    /// <summary>
    /// The named volume holding a replica set's Data Protection key ring (see <see cref="KeyRing"/>): "hello-keys" for the front
    /// project's replicas, "hello-keys-api" for StackProject api's.
    /// </summary>
    public static string KeysVolume(string stack, string project = "") => $"{stack}-{KeyRing.VolumeName(project)}";

    /// <summary>The volume of a replica set's SQLite files (see <see cref="FileDatabase"/>): "hello-appdata", "hello-appdata-api".</summary>
    public static string DataVolume(string stack, string project = "") => $"{stack}-{FileDatabases.VolumeName(project)}";

    /// <summary>A volume name that is <paramref name="reserved"/> or starts with it and a '-' (reserved for ProxyStack's own volumes).</summary>
    public static bool IsOrStartsWith(string volume, string reserved) => volume == reserved || volume.StartsWith(reserved + "-", StringComparison.Ordinal);

    /// <summary>The name a replica gets while a new one takes its place (rolling replacement); unique per container.</summary>
    public static string Retiring(string name, string containerId) => $"{name}-retiring-{containerId[..Math.Min(12, containerId.Length)]}";

    // One separator between alphanumeric runs: valid as a container, network and image repository name alike.
    [GeneratedRegex(@"^[a-z0-9]+([._-][a-z0-9]+)*\z")]
    private static partial Regex ValidName();

    public static bool IsValid(string name) => name.Length is > 0 and <= MaxLength && ValidName().IsMatch(name);

    /// <summary>
    /// Lower-cases, replaces every character Docker rejects with '-', keeps only the first of adjacent separators, and trims
    /// leading and trailing separators. Returns null when nothing valid remains (e.g. "___" or "").
    /// Example: "Contoso.Orders_API" → "contoso.orders_api"; "My App!" → "my-app".
    /// </summary>
    public static string? Normalize(string raw)
    {
        var sb = new StringBuilder(raw.Length);
        foreach (var ch in raw.Trim().ToLowerInvariant())
        {
            var ok = ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.' or '-';
            var c = ok ? ch : '-';
            var separator = c is '-' or '_' or '.';
            if (separator && (sb.Length == 0 || sb[^1] is '-' or '_' or '.')) continue;
            sb.Append(c);
        }
        var s = sb.ToString().Trim('-', '_', '.');
        if (s.Length > MaxLength) s = s[..MaxLength].TrimEnd('-', '_', '.');
        return IsValid(s) ? s : null;
    }
}
