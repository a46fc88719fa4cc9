namespace ProxyStack.Engine;

/// <summary>
/// Which engine endpoint to use, and whether it is one ProxyStack can talk to (pure). An explicit endpoint wins, then
/// DOCKER_HOST, then the platform's default socket. Accepted: unix://, npipe://, tcp:// (plain HTTP), http://, https://.
/// Anything else is an <see cref="EngineEndpointException"/> whose message says what to use instead.
/// </summary>
internal static class EngineEndpoint
{
    public static Uri Resolve(string? explicitEndpoint, string? dockerHost, bool windows)
    {
        var raw = !string.IsNullOrWhiteSpace(explicitEndpoint) ? explicitEndpoint.Trim()
            : !string.IsNullOrWhiteSpace(dockerHost) ? dockerHost.Trim()
            : windows ? "npipe://./pipe/docker_engine" : "unix:///var/run/docker.sock";
        var scheme = raw.IndexOf("://", StringComparison.Ordinal) is > 0 and var i ? raw[..i].ToLowerInvariant() : null;
        if (scheme is null)
            throw new EngineEndpointException(raw, $"it has no scheme. Write it as tcp://{raw} (a TCP engine) or unix://{raw} (a socket path) in DOCKER_HOST.");
        if (scheme == "ssh")
            throw new EngineEndpointException(raw, "ssh:// endpoints are not supported. Forward the remote socket (ssh -nNT -L /tmp/docker.sock:/var/run/docker.sock user@host) and set DOCKER_HOST=unix:///tmp/docker.sock.");
        if (scheme is not ("unix" or "npipe" or "tcp" or "http" or "https"))
            throw new EngineEndpointException(raw, $"'{scheme}://' is not an engine scheme. Use unix://, npipe://, tcp:// or https://.");
        if (!Uri.TryCreate(raw, UriKind.Absolute, out var uri) || (scheme is "tcp" or "http" or "https" && (uri.Host.Length == 0 || uri.Port <= 0))
            || (scheme == "unix" && uri.AbsolutePath.Length <= 1))
            throw new EngineEndpointException(raw, "it is not a valid address. Examples: unix:///var/run/docker.sock, tcp://127.0.0.1:2375.");
        return uri;
    }
}
