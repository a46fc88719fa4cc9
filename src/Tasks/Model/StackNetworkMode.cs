namespace ProxyStack.Model;

/// <summary>
/// StackNetworkMode as a type: each mode owns its rules (see <see cref="StackNetworking"/> for what follows from them), so no
/// other code compares mode names.
/// </summary>
internal sealed class StackNetworkMode
{
    /// <summary>A user-defined bridge network per stack; replicas, backing containers and projects found by name through the engine's DNS.</summary>
    public static readonly StackNetworkMode Bridge = new("bridge", ownsNetwork: true, onHostNetwork: false, linksReplicas: false);
    /// <summary>Every container on the host's network: replica n on loopback port StackHostPort + n; nginx binds the host address itself.</summary>
    public static readonly StackNetworkMode Host = new("host", ownsNetwork: false, onHostNetwork: true, linksReplicas: false);
    /// <summary>Legacy: containers on the engine's default bridge; the proxy is created with a link to each replica.</summary>
    public static readonly StackNetworkMode Link = new("link", ownsNetwork: false, onHostNetwork: false, linksReplicas: true);

    public static readonly IReadOnlyList<StackNetworkMode> All = [Bridge, Host, Link];

    private StackNetworkMode(string name, bool ownsNetwork, bool onHostNetwork, bool linksReplicas) =>
        (Name, OwnsNetwork, OnHostNetwork, LinksReplicas) = (name, ownsNetwork, onHostNetwork, linksReplicas);

    /// <summary>As StackNetworkMode is set and as the network-mode label records it. Example: bridge</summary>
    public string Name { get; }
    /// <summary>The stack has a network of its own, the only place backing containers and StackProjects can be found by name.</summary>
    public bool OwnsNetwork { get; }
    /// <summary>Containers share the host's network: replicas listen on their own loopback ports, nginx binds the host address.</summary>
    public bool OnHostNetwork { get; }
    /// <summary>The proxy reaches replicas through links fixed at its creation, so any change of replicas replaces it.</summary>
    public bool LinksReplicas { get; }

    /// <summary>The mode of that name, or null (STACK1007 lists the names).</summary>
    public static StackNetworkMode? Parse(string? name) => All.FirstOrDefault(m => m.Name == name);

    public override string ToString() => Name;
}
