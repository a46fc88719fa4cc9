using ProxyStack.Engine;
using ProxyStack.Execution;

namespace ProxyStack.MSBuild;

/// <summary>
/// Pings the engine before any build work, so "no engine" fails in seconds with STACK3001 naming the endpoint and what was
/// looked for. The engine is found as the docker CLI finds it (see <see cref="EngineEndpoint"/>). When it is a socket the CLI
/// would not pick by itself (Docker Desktop's per-user socket, Podman's), this build's DOCKER_HOST is set to it, so that the
/// SDK's image load, every later task and the `dotnet run` runner talk to the same engine.
/// </summary>
public sealed class ProbeStackEngine : StackTask
{
    /// <summary>The SDK's LocalRegistry (Docker or Podman): where PublishContainer loads the app image. Example: Podman</summary>
    public string LocalRegistry { get; set; } = "";

    /// <summary>
    /// The stack's model when a bring-up follows (StackUp, `dotnet run`; empty otherwise): the engine requests the bring-up
    /// will make are warmed up beside the build that comes first (<see cref="EngineWarmup"/>). Example: obj/Debug/net10.0/stack/model.json
    /// </summary>
    public string WarmUpModelFile { get; set; } = "";

    private protected override string ProfileLabel => "engine ping";

    private protected override bool PreferPodman => string.Equals(LocalRegistry, "Podman", StringComparison.OrdinalIgnoreCase);

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        await Engine.PingAsync(ct).ConfigureAwait(false);
        if (Engine is not DockerEngine { Choice: var choice }) return true;
        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"Docker engine at {choice} answered.");
        if (string.IsNullOrWhiteSpace(DockerHost) && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("DOCKER_HOST"))
            && !choice.Source.StartsWith("context ", StringComparison.Ordinal) && choice.Uri.AbsolutePath != EngineEndpoint.DefaultUnixSocket)
        {
            Environment.SetEnvironmentVariable("DOCKER_HOST", choice.Uri.ToString());
            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, $"Using {choice}: DOCKER_HOST set for this build.");
        }
        if (File.Exists(WarmUpModelFile))
        {
            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "Warming up the bring-up's engine requests beside the build.");
            var (host, podman) = (DockerHost, PreferPodman);
            EngineWarmup.Start(() => new DockerEngine(host, podman), ReadModel(WarmUpModelFile));
        }
        return true;
    }
}
