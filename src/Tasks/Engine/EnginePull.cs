using ProxyStack.Diagnostics;
using ProxyStack.Model;
using ProxyStack.Resources;

namespace ProxyStack.Engine;

/// <summary>An image the engine pulls itself (a backing container's, nginx's), and what to say when it cannot.</summary>
internal static class EnginePull
{
    /// <summary>
    /// The image's id, pulled first when the engine does not have it (<paramref name="pulling"/> is told); else no id and
    /// STACK2001 (<see cref="UnavailableAsync"/>).
    /// </summary>
    public static async Task<(string? Id, Diagnostic? Failure)> EnsureAsync(IContainerEngine engine, string image, Action<string> pulling, CancellationToken ct)
    {
        if (await engine.InspectImageAsync(image, ct).ConfigureAwait(false) is { } found) return (found.Id, null);
        pulling(image);
        string why;
        try
        {
            await engine.PullImageAsync(image, ct).ConfigureAwait(false);
            if (await engine.InspectImageAsync(image, ct).ConfigureAwait(false) is { } pulled) return (pulled.Id, null);
            why = "the pull reported no image";
        }
        catch (EngineRequestException e) { why = e.Reason; }
        return (null, await UnavailableAsync(engine, image, why, ct).ConfigureAwait(false));
    }

    /// <summary>
    /// STACK2001 for <paramref name="image"/>, which the engine could not pull. A rootless engine pulls from inside its own
    /// network namespace, where a registry named by loopback (localhost:5000) is not this machine's: then the message says so,
    /// instead of suggesting such a registry as the mirror.
    /// </summary>
    public static async Task<Diagnostic> UnavailableAsync(IContainerEngine engine, string image, string why, CancellationToken ct)
    {
        var reference = ImageReference.Parse(image);
        var rootless = false;
        if (reference is { OnLoopbackRegistry: true })
        {
            try { rootless = await engine.IsRootlessAsync(ct).ConfigureAwait(false); }
            catch (EngineRequestException) { }
            catch (EngineUnavailableException) { }
        }
        return Unavailable(image, why, rootless ? reference!.Registry : null);
    }

    /// <summary>STACK2001; <paramref name="rootlessLoopbackRegistry"/>: the loopback registry a rootless engine could not reach.</summary>
    public static Diagnostic Unavailable(string image, string why, string? rootlessLoopbackRegistry = null) =>
        Diagnostic.Error(nameof(Strings.BaseImageUnavailable), image, why, rootlessLoopbackRegistry is null
            ? Strings.BaseImageUnavailableMirror
            : string.Format(System.Globalization.CultureInfo.InvariantCulture, Strings.BaseImageUnavailableRootless, rootlessLoopbackRegistry, image));
}
