namespace ProxyStack.Planning;

/// <summary>Label keys on every resource ProxyStack creates. Resources are found by these labels, never by name alone.</summary>
internal static class StackLabels
{
    public const string Stack = "proxystack.stack";
    public const string Role = "proxystack.role";
    public const string Replica = "proxystack.replica";
    public const string ConfigHash = "proxystack.config-hash";
    public const string ImageId = "proxystack.image-id";
    public const string Version = "proxystack.version";
    public const string NetworkMode = "proxystack.network-mode";

    public const string RoleApp = "app";
    public const string RoleProxy = "proxy";
    public const string RoleNetwork = "network";

    public static string ToolVersion =>
        typeof(StackLabels).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
