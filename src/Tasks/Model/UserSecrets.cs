using System.Globalization;
using System.Text.Json;

namespace ProxyStack.Model;

/// <summary>
/// Turns a project's user-secrets file (secrets.json) into environment variables for the replicas, the way ASP.NET reads
/// them back: nested keys joined with "__" ({"ConnectionStrings": {"Db": "…"}} → ConnectionStrings__Db). The values go
/// only to the engine when containers are created: never into the model file, an image, or the build log.
/// </summary>
internal static class UserSecrets
{
    public static IReadOnlyList<KeyValuePair<string, string>> ToEnvironment(string json)
    {
        var result = new List<KeyValuePair<string, string>>();
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        Flatten(doc.RootElement, "", result);
        return result.OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
    }

    private static void Flatten(JsonElement e, string prefix, List<KeyValuePair<string, string>> into)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                    Flatten(p.Value, prefix.Length == 0 ? p.Name.Replace(":", "__", StringComparison.Ordinal) : $"{prefix}__{p.Name.Replace(":", "__", StringComparison.Ordinal)}", into);
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in e.EnumerateArray()) Flatten(item, $"{prefix}__{(i++).ToString(CultureInfo.InvariantCulture)}", into);
                break;
            case JsonValueKind.Null:
                break;
            default:
                if (prefix.Length > 0) into.Add(new(prefix, e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()));
                break;
        }
    }

    /// <summary>
    /// The user secrets that reach the replicas: StackEnvironment items (plain or secret-sourced) win over a user secret of
    /// the same name, so those are left out.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Unshadowed(IReadOnlyList<KeyValuePair<string, string>> secrets, IEnumerable<string> environmentNames)
    {
        var taken = environmentNames.ToHashSet(StringComparer.Ordinal);
        return secrets.Where(s => !taken.Contains(s.Key)).OrderBy(s => s.Key, StringComparer.Ordinal).ToList();
    }
}
