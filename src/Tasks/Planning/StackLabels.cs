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
    /// <summary>
    /// Which checkout owns the stack ("machine:project directory"). Put on containers and networks when they are created, never
    /// on images, so a container someone starts from our image by hand never carries it.
    /// </summary>
    public const string Owner = "proxystack.owner";
    /// <summary>On the proxy: the host address and port it holds ("127.0.0.1:8080"), to know whether a new one can start beside it.</summary>
    public const string Publish = "proxystack.publish";
    /// <summary>
    /// On images only: the stack an image was built for. Deliberately not <see cref="Stack"/>: Docker copies image labels onto
    /// every container made from the image, so an ownership label on an image would make a bystander container look like ours.
    /// </summary>
    public const string ImageOf = "proxystack.image-of";
    /// <summary>On the proxy image: hash of its build inputs, so an unchanged proxy image is not rebuilt.</summary>
    public const string ImageHash = "proxystack.image-hash";

    /// <summary>
    /// On a throwaway container made outside the stack lock (the nginx version probe, StackPublish's user probe, StackStatus's
    /// probe relay): until when (Unix seconds) the build that made it may still be using it. A StackUp meanwhile leaves it
    /// alone until then, where it removes any other throwaway as one a killed build left.
    /// </summary>
    public const string InUseUntil = "proxystack.in-use-until";

    /// <summary>On a backing container (StackContainer): its item name.</summary>
    public const string Service = "proxystack.service";

    /// <summary>On a StackProject's replica: the project's name (absent on the front project's replicas).</summary>
    public const string Project = "proxystack.project";

    public const string RoleApp = "app";
    /// <summary>A backing container (StackContainer).</summary>
    public const string RoleService = "service";
    /// <summary>A named volume of a backing container.</summary>
    public const string RoleData = "data";
    public const string RoleProxy = "proxy";
    public const string RoleNetwork = "network";
    /// <summary>The named volume of the stack's Data Protection key ring.</summary>
    public const string RoleKeys = "keys";

    public static string ToolVersion =>
        typeof(StackLabels).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
