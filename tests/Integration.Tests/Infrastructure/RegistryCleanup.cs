using System.Net.Http.Headers;
using System.Text.Json;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// Removes what a test pushed to the local registry (StackDeploy pushes the app images): every tag of each repository
/// named after the test's stack (the stack's name itself, or starting with it and a dash), through the registry's API (build/provision.sh enables deletes). The repository's name
/// stays in the catalog with no tags, and its layers until the registry's garbage collection; build/test-summary.sh counts
/// a tag left under this run's stacks as a leak.
/// </summary>
internal static class RegistryCleanup
{
    private static readonly string[] ManifestTypes =
    [
        "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    ];

    public static async Task RemoveStackAsync(string registry, string stack)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{registry}/"), Timeout = TimeSpan.FromSeconds(10) };
        using var catalog = JsonDocument.Parse(await http.GetStringAsync("v2/_catalog?n=1000"));
        var repositories = catalog.RootElement.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()!)
            .Where(r => r == stack || r.StartsWith(stack + "-", StringComparison.Ordinal)).ToList();
        foreach (var repository in repositories)
        {
            using var tags = JsonDocument.Parse(await http.GetStringAsync($"v2/{repository}/tags/list"));
            if (tags.RootElement.GetProperty("tags").ValueKind != JsonValueKind.Array) continue;
            foreach (var tag in tags.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!))
            {
                using var head = new HttpRequestMessage(HttpMethod.Head, $"v2/{repository}/manifests/{tag}");
                foreach (var type in ManifestTypes) head.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
                using var found = await http.SendAsync(head);
                if (!found.IsSuccessStatusCode || !found.Headers.TryGetValues("Docker-Content-Digest", out var digests)) continue;
                using var deleted = await http.DeleteAsync($"v2/{repository}/manifests/{digests.First()}");
                if (!deleted.IsSuccessStatusCode && deleted.StatusCode != System.Net.HttpStatusCode.NotFound)
                    throw new InvalidOperationException($"the registry refused to delete {repository}:{tag}: {(int)deleted.StatusCode}");
            }
        }
    }
}
