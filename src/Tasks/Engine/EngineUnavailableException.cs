namespace ProxyStack.Engine;

/// <summary>The engine could not be reached at all (no socket, refused, timed out).</summary>
internal sealed class EngineUnavailableException(string endpoint, string reason, Exception? inner = null)
    : Exception($"Cannot reach the Docker engine at '{endpoint}': {reason}", inner)
{
    public string Endpoint { get; } = endpoint;
    public string Reason { get; } = reason;
}
