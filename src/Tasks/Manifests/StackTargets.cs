using ProxyStack.Model;

namespace ProxyStack.Manifests;

/// <summary>
/// StackTarget: where a stack goes besides this machine's engine. compose and kubernetes are written out as manifests
/// (StackPublish); the engine itself ("" — StackUp) is the default. Names shared by every target live here.
/// </summary>
internal static class StackTargets
{
    public const string Compose = "compose";
    public const string Kubernetes = "kubernetes";
    /// <summary>Deployed (StackDeploy) to the swarm the engine manages, through the Engine API's services.</summary>
    public const string Swarm = "swarm";
    public static readonly IReadOnlyList<string> Published = [Compose, Kubernetes];

    /// <summary>The service (compose) or Deployment and Service (Kubernetes) nginx reaches the proxy's own service by.</summary>
    public const string ProxyService = "proxy";

    /// <summary>
    /// The service that runs a replica set: "app" for the front project, "&lt;project&gt;-app" for a StackProject — never the
    /// project's own name, which is nginx's (the other replicas reach a StackProject through nginx, as on this machine).
    /// </summary>
    public static string ReplicaService(StackModel set) => set.ProjectKey.Length > 0 ? set.ProjectKey + "-app" : "app";

    /// <summary>
    /// The name nginx resolves a replica set's replicas by: the service's name (compose's DNS answers it with every replica;
    /// Kubernetes' Service is one cluster address), or on Swarm tasks.&lt;service&gt;, every task's own address.
    /// </summary>
    public static string UpstreamHost(StackModel set) => set.Target == Swarm ? $"tasks.{SwarmServices.ServiceName(set, ReplicaService(set))}" : ReplicaService(set);

    /// <summary>
    /// A name Kubernetes accepts for a namespace and a Service (an RFC 1123 label: lowercase letters, digits and '-', starting
    /// and ending with a letter or digit, at most 63 characters); compose project names are a superset of it.
    /// </summary>
    public static bool IsDnsLabel(string name) => name.Length is > 0 and <= 63
        && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1]);
}
