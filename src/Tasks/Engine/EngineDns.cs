namespace ProxyStack.Engine;

/// <summary>How an engine's DNS names the containers of a user-defined network: what decides how a replica takes its slot.</summary>
internal enum EngineDns
{
    /// <summary>A renamed container answers to its new name at once (Docker outside swarm mode): slots change hands by rename.</summary>
    FollowsRenames,

    /// <summary>
    /// A container keeps the names it joined the network with (Podman: aardvark-dns, CNI's dnsname): a replica takes its slot
    /// as a network alias by rejoining the network, and a leaving one answers to its slot until it stops.
    /// </summary>
    JoinTimeNames,

    /// <summary>
    /// Docker on a swarm node: join-time names as on Podman (measured on 20.10: after `swarm init` a rename no longer reaches
    /// a plain bridge network's DNS), and removed containers still answered for a few seconds (STACK3007 says so).
    /// </summary>
    SwarmNode,
}
