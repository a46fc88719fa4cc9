using System.Net;
using System.Text.RegularExpressions;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>Posting an ASP.NET Core form as a browser does: its page first (the antiforgery token and cookie), then the fields with the token.</summary>
public static partial class Forms
{
    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    public static partial Regex AntiforgeryToken();

    /// <summary>A client that keeps cookies and shows redirects instead of following them (trusting the stack's development certificate).</summary>
    public static HttpClient Client() => new(new HttpClientHandler
    {
        CookieContainer = new CookieContainer(), AllowAutoRedirect = false,
        ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
    }) { Timeout = TimeSpan.FromSeconds(30) };

    [GeneratedRegex("<input\\b[^>]*>")]
    private static partial Regex Input();

    [GeneratedRegex("\\b(type|name|value)=\"([^\"]*)\"")]
    private static partial Regex Attribute();

    /// <summary>
    /// Posts <paramref name="fields"/> to the page at <paramref name="url"/> with the hidden inputs of the form that carries
    /// an antiforgery token (the token itself, and a Blazor form's _handler), whatever order their attributes come in.
    /// </summary>
    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string url, params (string Name, string Value)[] fields)
    {
        var page = await client.GetStringAsync(url);
        var form = page.Split("</form>").FirstOrDefault(f => f.Contains("__RequestVerificationToken", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"GET {url} has no form with an antiforgery token:\n{page}");
        var hidden = Input().Matches(form)
            .Select(i => Attribute().Matches(i.Value).ToDictionary(a => a.Groups[1].Value, a => WebUtility.HtmlDecode(a.Groups[2].Value)))
            .Where(a => a.GetValueOrDefault("type") == "hidden" && a.ContainsKey("name"))
            .Select(a => KeyValuePair.Create(a["name"], a.GetValueOrDefault("value") ?? ""));
        return await client.PostAsync(url, new FormUrlEncodedContent(fields.Select(f => KeyValuePair.Create(f.Name, f.Value)).Concat(hidden)));
    }
}
