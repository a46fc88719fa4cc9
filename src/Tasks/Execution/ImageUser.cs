using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.Planning;

namespace ProxyStack.Execution;

/// <summary>The numeric user and group an image's containers run as, for a target that cannot read it at start (compose).</summary>
internal static class ImageUser
{
    /// <summary>
    /// Resolved as the engine resolves it when it starts a container (<see cref="ContainerUser"/>): from the image's config
    /// alone for root or a user and group given by number; otherwise from the image's own /etc/passwd and /etc/group, read
    /// from a container created for that, never started, and removed (<see cref="ContainerSpecs.UserProbe"/>).
    /// </summary>
    public static async Task<(int Uid, int Gid)> ResolveAsync(IContainerEngine engine, StackModel model, string image, CancellationToken ct)
    {
        var user = (await engine.InspectImageAsync(image, ct).ConfigureAwait(false))?.User
            ?? throw new EngineRequestException("inspect image " + image, "the engine does not have it", conflict: false);
        if (ContainerUser.WithoutFiles(user) is { } known) return known;
        var probe = ContainerSpecs.UserProbe(model, image, DateTimeOffset.UtcNow);
        return await ThrowawayContainer.UseCreatedAsync(engine, probe,
                () => ContainerUser.ResolveAsync(user, path => engine.ReadImageFileAsync(probe.Name, path, ct)), ct).ConfigureAwait(false)
            ?? throw new EngineRequestException($"read the user of {image}", $"its user '{user}' is not in its /etc/passwd or /etc/group; set ContainerUser to a user the image has", conflict: false);
    }
}
