namespace ProxyStack.Execution;

/// <summary>nginx refused a new configuration (nginx -t failed); the running configuration was left in place.</summary>
internal sealed class ProxyReloadException(string name, string output, string? config = null) : Exception($"nginx in '{name}' rejected the configuration: {output}")
{
    public string Name { get; } = name;
    public string Output { get; } = output;
    /// <summary>The config nginx refused, where it is not the stack's generated one (routed by address); null otherwise.</summary>
    public string? Config { get; } = config;
}
