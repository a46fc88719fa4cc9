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

    public static async Task<HttpResponseMessage> PostAsync(HttpClient client, string url, params (string Name, string Value)[] fields)
    {
        var page = await client.GetStringAsync(url);
        var token = AntiforgeryToken().Match(page);
        if (!token.Success) throw new InvalidOperationException($"GET {url} has no antiforgery token:\n{page}");
        return await client.PostAsync(url, new FormUrlEncodedContent(
            fields.Select(f => KeyValuePair.Create(f.Name, f.Value)).Append(KeyValuePair.Create("__RequestVerificationToken", WebUtility.HtmlDecode(token.Groups[1].Value)))));
    }
}
