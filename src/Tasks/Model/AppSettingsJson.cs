using System.Text.Json;

namespace ProxyStack.Model;

/// <summary>Reading a project's appsettings*.json as ASP.NET Core does: comments and trailing commas allowed, keys case-insensitive.</summary>
internal static class AppSettingsJson
{
    /// <summary>The parsed file, or null when there is none or it is not JSON (which then says nothing).</summary>
    public static JsonDocument? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            return JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException) { return null; }
    }

    /// <summary>Configuration keys are case-insensitive.</summary>
    public static JsonElement? Property(JsonElement e, string name) =>
        e.ValueKind != JsonValueKind.Object ? null
        : e.EnumerateObject().Where(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)).Select(p => (JsonElement?)p.Value).LastOrDefault();
}
