using Microsoft.Build.Framework;
using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Model;

namespace ProxyStack.MSBuild;

/// <summary>
/// Applies StackRegistryMirror to a base image reference and, when asked, checks that the registry has it, so a missing or
/// unreachable base image fails with STACK2001 and a hint instead of a pull error deep inside the SDK.
/// </summary>
public sealed class ResolveStackBaseImage : StackTask
{
    /// <summary>Example: mcr.microsoft.com/dotnet/aspnet:10.0</summary>
    [Required] public string Image { get; set; } = "";
    /// <summary>Example: localhost:5000</summary>
    public string RegistryMirror { get; set; } = "";
    /// <summary>Ask the registry whether the image exists. Example: true</summary>
    public bool CheckAvailable { get; set; }
    /// <summary>Example: localhost:5000/dotnet/aspnet:10.0</summary>
    [Output] public string ResolvedImage { get; set; } = "";

    private protected override string ProfileLabel => "base image check";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        var image = ImageReference.Parse(Image);
        if (image is null)
        {
            MSBuildDiagnosticSink.Log(Log, Diagnostic.Error(nameof(Strings.ImageReferenceInvalid), "ContainerBaseImage", Image));
            return false;
        }
        if (RegistryMirror.Length > 0) image = image.WithMirror(RegistryMirror);
        ResolvedImage = image.ToString();
        if (!CheckAvailable) return true;
        var why = await RegistryProbe.WhyUnavailableAsync(image, ct).ConfigureAwait(false);
        if (why is not null) MSBuildDiagnosticSink.Log(Log, ProxyStack.Engine.EnginePull.Unavailable(ResolvedImage, why));
        return why is null;
    }
}
