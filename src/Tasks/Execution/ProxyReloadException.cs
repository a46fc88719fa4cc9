namespace ProxyStack.Execution;

/// <summary>nginx refused a new configuration (nginx -t failed); the running configuration was left in place.</summary>
internal sealed class ProxyReloadException(string name, string output, string? config = null) : Exception($"nginx in '{name}' rejected the configuration: {output}")
{
    public string Name { get; } = name;
    public string Output { get; } = output;
    /// <summary>The config nginx refused as ProxyStack wrote it into the proxy (a reload; routed by address, its lines differ
    /// from the generated config's); null for a check of the proxy image's own, which is the generated config.</summary>
    public string? Config { get; } = config;
}
