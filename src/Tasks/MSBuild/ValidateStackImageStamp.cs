using Microsoft.Build.Framework;

namespace ProxyStack.MSBuild;

/// <summary>
/// Deletes an image stamp whose image the engine no longer has (pruned, or another engine), so the incremental target that
/// owns the stamp builds the image again instead of handing a missing image to the bring-up.
/// </summary>
public sealed class ValidateStackImageStamp : StackTask
{
    /// <summary>A file whose first line is an image reference. Example: obj/Debug/net10.0/stack/app-image.stamp</summary>
    [Required] public string StampFile { get; set; } = "";

    private protected override string ProfileLabel => "app image check";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        if (!File.Exists(StampFile)) return true;
        // "reference\nid": the id is what is deployed, so it is the one that must still exist.
        var lines = await File.ReadAllLinesAsync(StampFile, ct).ConfigureAwait(false);
        var image = lines.ElementAtOrDefault(1)?.Trim() is { Length: > 0 } id ? id : lines.FirstOrDefault()?.Trim();
        if (string.IsNullOrEmpty(image) || await Engine.InspectImageAsync(image, ct).ConfigureAwait(false) is null)
        {
            Log.LogMessage(MessageImportance.Normal, $"Image '{image}' recorded in {StampFile} is gone from the engine; it will be rebuilt.");
            File.Delete(StampFile);
        }
        return true;
    }
}
