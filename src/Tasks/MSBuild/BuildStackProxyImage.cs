using Microsoft.Build.Framework;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Planning;
using ProxyStack.Proxy;

namespace ProxyStack.MSBuild;

/// <summary>
/// Builds the proxy image (nginx base + generated nginx.conf) through the engine's build endpoint. The image carries a hash of
/// its inputs (Dockerfile, config, base image id) as a label; when the engine already has that hash, nothing is built.
/// </summary>
public sealed class BuildStackProxyImage : StackTask
{
    /// <summary>Example: obj/Debug/net10.0/stack/model.json</summary>
    [Required] public string ModelFile { get; set; } = "";
    /// <summary>Example: obj/Debug/net10.0/stack/nginx.conf</summary>
    [Required] public string ConfigFile { get; set; } = "";
    /// <summary>Example: proxystack/hellostack-proxy:latest</summary>
    [Required] public string ProxyImage { get; set; } = "";
    /// <summary>The nginx base image's id, from InspectStackProxyBase (which pulled it when missing). Example: sha256:1c0b…</summary>
    [Required] public string BaseImageId { get; set; } = "";
    /// <summary>The id of the image built (or found up to date): what ApplyStack deploys. Example: sha256:9ab2…</summary>
    [Output] public string ProxyImageId { get; set; } = "";

    private protected override string ProfileLabel => "proxy image check or build";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var model = ReadModel(ModelFile);
        var config = await File.ReadAllTextAsync(ConfigFile, ct).ConfigureAwait(false);
        var dockerfile = ProxyBuildContext.Dockerfile(model.NginxImage);
        var hash = ConfigHash.Compute(new Dictionary<string, object?>
        {
            ["dockerfile"] = dockerfile,
            ["config"] = config,
            ["base"] = BaseImageId,
        });
        var existing = await Engine.InspectImageAsync(ProxyImage, ct).ConfigureAwait(false);
        if (existing?.Labels.GetValueOrDefault(StackLabels.ImageHash) == hash)
        {
            Log.LogMessage(MessageImportance.Normal, $"Proxy image {ProxyImage} is up to date.");
            ProxyImageId = existing.Value.Id;
            return true;
        }
        Log.LogMessage(MessageImportance.Normal, $"Building proxy image {ProxyImage} from {model.NginxImage}.");
        // Never the ownership labels: Docker copies image labels onto containers made from the image (see StackLabels.ImageOf).
        var labels = new Dictionary<string, string> { [StackLabels.ImageOf] = model.Name, [StackLabels.ImageHash] = hash };
        using var context = ProxyBuildContext.CreateTar(dockerfile, config);
        try
        {
            await Engine.BuildImageAsync(ProxyImage, context, labels, ct).ConfigureAwait(false);
            ProxyImageId = (await Engine.InspectImageAsync(ProxyImage, ct).ConfigureAwait(false))?.Id
                ?? throw new EngineRequestException("build image " + ProxyImage, "the engine reported no image after the build", conflict: false);
        }
        catch (EngineRequestException e)
        {
            MSBuildDiagnosticSink.Log(Log, Diagnostic.Error(nameof(Strings.ProxyImageBuildFailed), ProxyImage, e.Reason));
            return false;
        }
        // The image the tag named before this build, now nameless, goes unless a container uses it (the running proxy, until a
        // bring-up replaces it and takes the image with it) or someone tagged it: each config change would otherwise leave one.
        if (existing is { } superseded && superseded.Id != ProxyImageId)
            Log.LogMessage(MessageImportance.Low, await Engine.RemoveImageUnlessHeldAsync(superseded.Id, ct).ConfigureAwait(false) is { } why
                ? $"Kept the previous proxy image {superseded.Id}: {why}." : $"Removed the previous proxy image {superseded.Id}.");
        return true;
    }
}
