using Microsoft.Build.Framework;

namespace ProxyStack.MSBuild;

/// <summary>
/// Right before PublishContainer builds a stack's image: every tag it is about to write must be free or already the stack's
/// own. PublishContainer loads the image under <c>repository:tag</c>, which moves that tag off whatever image held it — an image
/// someone built with a Dockerfile, a compose build, another stack's — and a <c>docker push</c> of that tag would then push
/// ProxyStack's development image instead. A tag held by an image without <c>proxystack.image-of=&lt;stack&gt;</c> is refused
/// (STACK2005) before anything is built or changed. Asked only when the image is about to be built, so an up-to-date build
/// pays nothing.
/// </summary>
public sealed class ValidateStackImageTags : StackTask
{
    /// <summary>The image's repository (ContainerRepository); empty: nothing to check. Example: hellostack</summary>
    public string Repository { get; set; } = "";
    /// <summary>ContainerImageTag. Example: latest</summary>
    public string Tag { get; set; } = "";
    /// <summary>ContainerImageTags (the SDK uses these instead of <see cref="Tag"/> when set). Example: latest;dev</summary>
    public string Tags { get; set; } = "";
    /// <summary>The stack the image is built for: the value of its proxystack.image-of label. Example: hellostack</summary>
    [Required] public string StackName { get; set; } = "";
    /// <summary>The StackProject whose image this is; empty for the front project's. Example: api</summary>
    public string Project { get; set; } = "";

    private protected override string ProfileLabel => "app image tag check";

    /// <summary>The references PublishContainer writes: each of <paramref name="tags"/> if any, else <paramref name="tag"/>.</summary>
    internal static IReadOnlyList<string> References(string repository, string tag, string tags)
    {
        if (repository.Trim().Length == 0) return [];
        var names = tags.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0 && tag.Trim() is { Length: > 0 } one) names = [one];
        return [.. names.Distinct(StringComparer.Ordinal).Select(t => $"{repository}:{t}")];
    }

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var ok = true;
        foreach (var reference in References(Repository, Tag, Tags))
        {
            if (await Engine.InspectImageAsync(reference, ct).ConfigureAwait(false) is not { } image) continue;
            var owner = image.Labels.GetValueOrDefault(Planning.StackLabels.ImageOf);
            if (owner == StackName) continue;
            MSBuildDiagnosticSink.Log(Log, Diagnostics.Diagnostic.Error(nameof(Strings.ImageTagNotOurs), reference, Model.ImageReference.ShortId(image.Id),
                owner is null ? "it was not built by ProxyStack" : $"it was built for stack '{owner}'", StackName,
                Project.Length > 0 ? $"Give StackProject '{Project}' another Name (its image is <stack>-<Name>), or the stack another StackName"
                    : "Set ContainerRepository (or StackName) to a name of the stack's own"));
            ok = false;
        }
        return ok;
    }
}
