using System.Security.Cryptography;
using System.Text;
using Microsoft.Build.Framework;

namespace ProxyStack.MSBuild;

/// <summary>
/// Right after PublishContainer: records the app image this build produced by its id, so ApplyStack deploys exactly that
/// image even if a concurrent build moves the tag. The id of an image loaded into the engine is the SHA-256 of its config,
/// which the SDK hands back (GeneratedContainerConfiguration); when the engine has no image of that id (the config text
/// came back altered), the tag is inspected at once instead.
/// </summary>
public sealed class RecordStackAppImage : StackTask
{
    /// <summary>The first name PublishContainer generated. Example: hellostack:latest</summary>
    [Required] public string Image { get; set; } = "";
    /// <summary>The image config PublishContainer wrote (JSON). Example: {"architecture":"amd64",…}</summary>
    public string Configuration { get; set; } = "";
    /// <summary>Where to record "reference\nid". Example: obj/Debug/net10.0/stack/app-image.stamp</summary>
    [Required] public string StampFile { get; set; } = "";

    /// <summary>Whether `dotnet run` runs this build (its progress goes to the console).</summary>
    public bool UnderRun { get; set; }

    private protected override string ProfileLabel => "app image record";

    private protected override bool ProgressToConsole => UnderRun;

    /// <summary>
    /// The stack folder of the project `dotnet run` runs, whose foreground program prints the progress lines kept on a terminal:
    /// a StackProject's image is built in that project's own instance, and its line would otherwise be kept in its own folder,
    /// where nothing reads it. Empty: the stamp's folder (the front project's). Example: /src/HelloStack/obj/Debug/net10.0/stack/
    /// </summary>
    public string ProgressDirectory { get; set; } = "";

    private protected override string? StackDirectory => ProgressDirectory.Length > 0 ? ProgressDirectory : Path.GetDirectoryName(Path.GetFullPath(StampFile));

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        string? id = null;
        if (Configuration.Length > 0)
        {
            var candidate = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Configuration)));
            id = (await Engine.InspectImageAsync(candidate, ct).ConfigureAwait(false))?.Id;
        }
        id ??= (await Engine.InspectImageAsync(Image, ct).ConfigureAwait(false))?.Id;
        if (id is null)
        {
            MSBuildDiagnosticSink.Log(Log, Diagnostics.Diagnostic.Error(nameof(Strings.AppImageMissing), Image));
            return false;
        }
        // Atomically: two bring-ups of one project at once share this file, and one read an empty stamp (deploying image '')
        // while the other was rewriting it in place (CI, 2026-12-07).
        ProxyStack.MSBuild.StampFile.Write(StampFile, Image + "\n" + id + "\n");
        var shortId = Model.ImageReference.ShortId(id);
        Log.LogMessage(MessageImportance.Low, $"App image {Image} is {shortId}.");
        StackLog.Progress($"app image {Image} built ({shortId})");
        return true;
    }
}
