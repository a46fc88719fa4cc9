namespace ProxyStack.MSBuild;

/// <summary>Pings the engine before any build work, so "no engine" fails in seconds with STACK3001 naming the endpoint.</summary>
public sealed class ProbeStackEngine : StackTask
{
    private protected override string ProfileLabel => "engine ping";

    private protected override async Task<bool> ExecuteAsync(CancellationToken ct)
    {
        await Engine.PingAsync(ct).ConfigureAwait(false);
        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"Docker engine at {Engine.Endpoint} answered.");
        return true;
    }
}
