namespace ProxyStack.Engine;

/// <summary>The engine endpoint (DOCKER_HOST or the task's DockerHost) is malformed or of a kind ProxyStack cannot use.</summary>
internal sealed class EngineEndpointException(string endpoint, string reason) : Exception($"{endpoint}: {reason}")
{
    public string Endpoint { get; } = endpoint;
    public string Reason { get; } = reason;
}
