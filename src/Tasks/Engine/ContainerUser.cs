using System.Globalization;

namespace ProxyStack.Engine;

/// <summary>
/// The numeric user and group a container runs as, from its configured user ("", "1654", "1654:1654", "app", "app:app") and
/// the container's own /etc/passwd and /etc/group, resolved as the engine resolves them when it starts the process: a name
/// is looked up, a number is taken as it is, and the group is the user's primary group (0 without a passwd entry).
/// </summary>
internal static class ContainerUser
{
    /// <summary>
    /// Null when a name is in neither file (the engine would refuse to start such a container anyway). A file is read only
    /// when needed: none for root ("") or a user and group both given by number (<see cref="WithoutFiles"/>), /etc/passwd for
    /// a user, /etc/group only for a group given by name.
    /// </summary>
    public static async Task<(int Uid, int Gid)?> ResolveAsync(string user, Func<string, Task<string?>> readFile)
    {
        if (WithoutFiles(user) is { } known) return known;
        var parts = Parts(user);
        var passwd = await readFile("/etc/passwd").ConfigureAwait(false);
        string[]? Passwd(Func<string[], bool> match) => Line(passwd, 4, match);

        int uid, primaryGid;
        if (Number(parts[0]) is { } numeric)
            (uid, primaryGid) = (numeric, Passwd(f => f[2] == parts[0]) is { } byId && Number(byId[3]) is { } g ? g : 0);
        else if (Passwd(f => f[0] == parts[0]) is { } entry && Number(entry[2]) is { } u && Number(entry[3]) is { } g2)
            (uid, primaryGid) = (u, g2);
        else return null;

        if (!HasGroup(parts)) return (uid, primaryGid);
        if (Number(parts[1]) is { } gid) return (uid, gid);
        return Line(await readFile("/etc/group").ConfigureAwait(false), 3, f => f[0] == parts[1]) is { } group && Number(group[2]) is { } named
            ? (uid, named) : null;
    }

    /// <summary>
    /// The user as the engine resolves it when no file of the container is needed for that: root (""), or a user and group
    /// both given by number. Null otherwise.
    /// </summary>
    public static (int Uid, int Gid)? WithoutFiles(string user) =>
        Parts(user)[0].Length == 0 ? (0, 0) : Numeric(user) is { Gid: { } gid } numeric ? (numeric.Uid, gid) : null;

    /// <summary>
    /// A user given by number ("1654", "1654:99"): its uid, and its gid when that is given too. Null for root's "", a name, or a
    /// group given by name — users only the container's own files can resolve.
    /// </summary>
    public static (int Uid, int? Gid)? Numeric(string user)
    {
        var parts = Parts(user);
        if (Number(parts[0]) is not { } uid) return null;
        if (!HasGroup(parts)) return (uid, null);
        return Number(parts[1]) is { } gid ? (uid, gid) : null;
    }

    /// <summary>The mode a volume root given to the container's user gets, and the one <see cref="Owns"/> accepts: 0700.</summary>
    public const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The nine permission bits (0777) of a mode.</summary>
    private const UnixFileMode PermissionBits = PrivateMode | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>A configured user as the engine reads it: "user" or "user:group", the user possibly empty (root).</summary>
    private static string[] Parts(string user) => user.Trim().Split(':', 2);

    private static bool HasGroup(string[] parts) => parts.Length == 2 && parts[1].Length > 0;

    /// <summary>
    /// Whether a directory with this owner and mode already is the user's own and private: its uid, its gid when the user names
    /// one, and mode 0700. A user without a group runs with its primary group, which mode 0700 gives no access, so that group
    /// is not compared: reading /etc/passwd for it is what the check spares.
    /// </summary>
    public static bool Owns((int Uid, int? Gid) user, int uid, int gid, UnixFileMode mode) =>
        uid == user.Uid && (user.Gid is null || gid == user.Gid)
        && (mode & PermissionBits) == PrivateMode;

    /// <summary>The colon-separated fields of the first line with at least <paramref name="fields"/> fields that matches.</summary>
    private static string[]? Line(string? file, int fields, Func<string[], bool> match) =>
        file?.Split('\n').Select(l => l.Trim().Split(':')).FirstOrDefault(f => f.Length >= fields && match(f));

    private static int? Number(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
}
