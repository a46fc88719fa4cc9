using Microsoft.Build.Framework;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Execution;
using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;

namespace ProxyStack.MSBuild;

/// <summary>
/// Finds the nginx base image (pulling it when the engine does not have it) and reads which nginx it carries, by running
/// <c>nginx -v</c> in a throwaway container of it — never guessed from a tag. The answer is kept in a stamp ("image-id version")
/// and asked again only when the image id changes. nginx 1.27.3 or later re-resolves upstream names (<c>resolve</c>), which
/// lets replicas join and leave without a reload; an older nginx gets the reload path.
/// </summary>
public sealed class InspectStackProxyBase : StackTask
{
    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";
    /// <summary>Example: obj/Debug/net10.0/stack/nginx-base.stamp</summary>
    [Required] public string StampFile { get; set; } = "";
    /// <summary>Example: 1.30.6 (empty when the image's nginx did not say)</summary>
    [Output] public string NginxVersion { get; set; } = "";
    /// <summary>The base image's id, for the proxy image's build. Example: sha256:1c0b…</summary>
    [Output] public string NginxImageId { get; set; } = "";

    private protected override string ProfileLabel => "nginx base image check";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile);
        var baseId = await EnsureImageAsync(model.NginxImage, ct).ConfigureAwait(false);
        if (baseId is null) return false;
        NginxImageId = baseId;
        var stamp = File.Exists(StampFile) ? File.ReadAllText(StampFile).Split(' ', 2, StringSplitOptions.TrimEntries) : [];
        if (stamp.Length == 2 && stamp[0] == baseId) NginxVersion = stamp[1];
        else
        {
            var version = await ReadVersionAsync(model, baseId, ct).ConfigureAwait(false);
            NginxVersion = version?.ToString() ?? "";
            // An image that did not answer is asked again next time; one that answered is not asked again.
            if (version is not null) ProxyStack.MSBuild.StampFile.WriteIfChanged(StampFile, $"{baseId} {NginxVersion}");
        }
        var resolves = NginxVersions.Resolves(NginxVersion);
        Log.LogMessage(MessageImportance.Normal, NginxVersion.Length == 0
            ? $"{model.NginxImage}: nginx did not report its version; replica changes reload nginx."
            : resolves
                ? $"{model.NginxImage}: nginx {NginxVersion} re-resolves upstream names; in bridge mode replicas join and leave without a reload."
                : $"{model.NginxImage}: nginx {NginxVersion} is older than {NginxVersions.Resolve}; replica changes reload nginx.");
        return true;
    }

    /// <summary>The image's id, pulling it first when the engine does not have it; null after logging STACK2001.</summary>
    private async Task<string?> EnsureImageAsync(string image, CancellationToken ct)
    {
        var (id, failure) = await EnginePull.EnsureAsync(Engine, image, i => Log.LogMessage(MessageImportance.Normal, $"Pulling {i}."), ct).ConfigureAwait(false);
        if (failure is not null) MSBuildDiagnosticSink.Log(Log, [failure]);
        return id;
    }

    /// <summary>Runs nginx -v in a throwaway container of the image (no network) and parses what it prints.</summary>
    private async Task<Version?> ReadVersionAsync(StackModel model, string baseId, CancellationToken ct)
    {
        var (_, output) = await ThrowawayContainer.RunAsync(Engine, ContainerSpecs.NginxVersionProbe(model, baseId, DateTimeOffset.UtcNow),
            TimeSpan.FromSeconds(model.ReadyTimeoutSeconds), ct).ConfigureAwait(false);
        return NginxVersions.Parse(output);
    }
}
