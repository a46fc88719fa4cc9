using System.Net;
using System.Net.Http.Headers;
using ProxyStack.Model;

namespace ProxyStack.Engine;

/// <summary>
/// Asks an image's registry whether the image exists, before the .NET SDK starts a publish that would fail deep inside with a
/// pull error. Loopback registries are spoken to over HTTP (as Docker does), all others over HTTPS. An answer of 401 counts
/// as "exists": the registry is reachable, and the SDK will authenticate properly.
/// </summary>
internal static class RegistryProbe
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = true, AllowAutoRedirect = true })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>Null when the image is available, else the reason it is not.</summary>
    public static async Task<string?> WhyUnavailableAsync(ImageReference image, CancellationToken ct)
    {
        var registry = image.Registry ?? "registry-1.docker.io";
        if (registry == "docker.io") registry = "registry-1.docker.io";
        var scheme = image.OnLoopbackRegistry ? "http" : "https";
        var repository = image.Registry is null && !image.Repository.Contains('/') ? "library/" + image.Repository : image.Repository;
        var reference = image.Digest ?? image.Tag ?? "latest";
        var uri = new Uri($"{scheme}://{registry}/v2/{repository}/manifests/{reference}");
        using var request = new HttpRequestMessage(HttpMethod.Head, uri);
        foreach (var media in new[]
                 {
                     "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
                     "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
                 })
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(media));
        try
        {
            using var response = await Http.SendAsync(request, ct).ConfigureAwait(false);
            return response.StatusCode switch
            {
                HttpStatusCode.OK or HttpStatusCode.Unauthorized => null,
                HttpStatusCode.NotFound => $"registry '{registry}' has no '{repository}:{reference}'",
                var code => $"registry '{registry}' answered {(int)code} {code}",
            };
        }
        catch (HttpRequestException e)
        {
            return $"cannot reach registry '{registry}' ({e.HttpRequestError}: {e.InnerException?.Message ?? e.Message})";
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"registry '{registry}' did not answer within 10 s";
        }
    }
}
