using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ProxyStack.Planning;

/// <summary>
/// SHA-256 over canonical JSON (keys sorted ordinally, invariant culture) of what defines a container. Callers choose the inputs:
/// whatever must cause a recreate goes in, whatever must not (replica count, nginx.conf, per-run labels) stays out.
/// </summary>
internal static class ConfigHash
{
    public static string Compute(IReadOnlyDictionary<string, object?> inputs)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
            Write(w, inputs);
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    public static string Of(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static void Write(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case int i: w.WriteNumberValue(i); break;
            case IReadOnlyDictionary<string, object?> map:
                w.WriteStartObject();
                foreach (var key in map.Keys.Order(StringComparer.Ordinal))
                {
                    w.WritePropertyName(key);
                    Write(w, map[key]);
                }
                w.WriteEndObject();
                break;
            case IEnumerable<KeyValuePair<string, string>> pairs:
                w.WriteStartObject();
                foreach (var (k, v) in pairs.OrderBy(p => p.Key, StringComparer.Ordinal))
                    w.WriteString(k, v);
                w.WriteEndObject();
                break;
            case IEnumerable<string> list:
                w.WriteStartArray();
                foreach (var item in list) w.WriteStringValue(item);
                w.WriteEndArray();
                break;
            default:
                w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }
}
