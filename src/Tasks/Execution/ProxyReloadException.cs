namespace ProxyStack.Execution;

/// <summary>nginx refused a new configuration (nginx -t failed); the running configuration was left in place.</summary>
internal sealed class ProxyReloadException(string name, string output) : Exception($"nginx in '{name}' rejected the configuration: {output}")
{
    public string Name { get; } = name;
    public string Output { get; } = output;
}
