using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ProxyStack.Model;

/// <summary>
/// A SQLite database the app keeps in a file of its own folder (a connection string of appsettings.json), as the ASP.NET Core
/// templates with individual accounts do ("DataSource=app.db;Cache=Shared", the file shipped with the project). In a
/// container that file is the image's: it belongs to root while the app runs as its own user (SQLite Error 8, "attempt to
/// write a readonly database", on the first sign-up), and each replica would have a copy of its own, lost on every redeploy.
/// ProxyStack gives such a replica set one volume, mounted at <see cref="Directory"/> in every replica and kept like the key
/// ring, seeded once with the image's file, and points the connection string there (ConnectionStrings__&lt;name&gt;), so the
/// replicas share one database on this machine, as one app would. SQLite locks across processes of one kernel, which the
/// containers of one engine are.
/// </summary>
/// <param name="Name">The connection string's name. Example: DefaultConnection</param>
/// <param name="File">The file as the app names it, relative to its working directory, with '/'. Example: Data/app.db</param>
/// <param name="ConnectionString">The connection string the replicas get, the file in the volume. Example: datasource=/proxystack/data/app.db;cache=Shared</param>
internal sealed record FileDatabase(string Name, string File, string ConnectionString)
{
    /// <summary>The configuration key the replicas get it under (environment variables win over appsettings.json).</summary>
    [JsonIgnore] public string EnvironmentName => "ConnectionStrings__" + Name;

    /// <summary>The file's name in the volume: its path with '/' as '-' ("Data/app.db" → "Data-app.db"), so two folders' files stay apart.</summary>
    [JsonIgnore] public string VolumeFile => File.Replace('/', '-');
}

internal static class FileDatabases
{
    /// <summary>Where the database volume is mounted in a replica.</summary>
    public const string Directory = "/proxystack/data";

    /// <summary>The database volumes' name, and their prefix (see <see cref="KeyRing.ReservedVolumeName"/>): not a name for a backing container's volume.</summary>
    public const string ReservedVolumeName = "appdata";

    /// <summary>A replica set's database volume without the stack's prefix: "appdata" for the front project, "appdata-api" for StackProject api.</summary>
    public static string VolumeName(string project) => project.Length == 0 ? ReservedVolumeName : $"{ReservedVolumeName}-{project}";

    /// <summary>A backing container's volume name that a database volume has, or may have.</summary>
    public static bool IsVolumeName(string volume) => StackNames.IsOrStartsWith(volume, ReservedVolumeName);

    /// <summary>Microsoft.Data.Sqlite's keywords: a connection string with any other is some other database's.</summary>
    private static readonly HashSet<string> SqliteKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "data source", "datasource", "filename", "mode", "cache", "password", "foreign keys", "recursive triggers",
        "default timeout", "command timeout", "pooling", "vfs",
    };

    /// <summary>
    /// The file databases among the connection strings of appsettings.json and appsettings.&lt;environment&gt;.json
    /// (<paramref name="appSettings"/>: file name → text; the later file wins, as in ASP.NET Core), where the environment is
    /// DOTNET_ENVIRONMENT, else ASPNETCORE_ENVIRONMENT, else Production — WebApplication.CreateBuilder's order since .NET 7,
    /// which every ASP.NET Core template uses (older hosts read ASPNETCORE_ first). A connection string the replicas' environment already
    /// sets (<paramref name="environment"/>: StackEnvironment, or a StackContainer's wiring) is the user's, and left alone; so
    /// is one in memory, one naming an absolute path (a place the user chose) or |DataDirectory|.
    /// </summary>
    public static IReadOnlyList<FileDatabase> Find(IReadOnlyDictionary<string, string> appSettings, IReadOnlyList<KeyValuePair<string, string>> environment)
    {
        var name = environment.LastOrDefault(e => e.Key == "DOTNET_ENVIRONMENT").Value is { Length: > 0 } dotnet ? dotnet
            : environment.LastOrDefault(e => e.Key == "ASPNETCORE_ENVIRONMENT").Value is { Length: > 0 } aspnet ? aspnet : "Production";
        var strings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in new[] { "appsettings.json", $"appsettings.{name}.json" })
        {
            using var doc = AppSettingsJson.Parse(appSettings.FirstOrDefault(a => string.Equals(a.Key, file, StringComparison.OrdinalIgnoreCase)).Value);
            if (doc is null || AppSettingsJson.Property(doc.RootElement, "ConnectionStrings") is not { ValueKind: JsonValueKind.Object } section) continue;
            foreach (var s in section.EnumerateObject().Where(s => s.Value.ValueKind == JsonValueKind.String)) strings[s.Name] = s.Value.GetString()!;
        }
        return strings.OrderBy(s => s.Key, StringComparer.Ordinal)
            .Where(s => !environment.Any(e => string.Equals(e.Key.Replace(":", "__", StringComparison.Ordinal), "ConnectionStrings__" + s.Key, StringComparison.OrdinalIgnoreCase)))
            .Select(s => Rewrite(s.Key, s.Value)).OfType<FileDatabase>().ToList();
    }

    /// <summary>A SQLite connection string naming a file relative to the app's folder, pointed into the volume; null for anything else.</summary>
    private static FileDatabase? Rewrite(string name, string connectionString)
    {
        var builder = new DbConnectionStringBuilder();
        try { builder.ConnectionString = connectionString; }
        catch (ArgumentException) { return null; }
        var keys = builder.Keys.Cast<string>().ToList();
        if (keys.Count == 0 || keys.Any(k => !SqliteKeywords.Contains(k))) return null;
        if (keys.FirstOrDefault(k => k is "data source" or "datasource" or "filename") is not { } key) return null;
        var file = ((string)builder[key]).Trim().Replace('\\', '/');
        if (file.Length == 0 || file == ":memory:" || file.StartsWith('/') || file.Contains('|') || file.Contains(':')
            || (builder.TryGetValue("mode", out var mode) && string.Equals(mode as string, "Memory", StringComparison.OrdinalIgnoreCase)))
            return null;
        file = string.Join('/', file.Split('/').Where(p => p is not ("" or ".")));
        if (file.Length == 0 || file.Split('/').Contains("..")) return null;
        var database = new FileDatabase(name, file, "");
        builder[key] = $"{Directory}/{database.VolumeFile}";
        return database with { ConnectionString = builder.ConnectionString };
    }
}
