namespace ProxyStack.Proxy;

/// <summary>
/// The nginx config of the probe relay: a throwaway nginx on the stack's network, published on the engine host's loopback,
/// through which the readiness probes reach the replicas (see <see cref="Execution.ProbeRelay"/>). The host never needs a
/// route to a container address — Docker Desktop, Podman machines, Colima and OrbStack give it none.
/// </summary>
/// <remarks>
/// A request names its replica in <see cref="TargetHeader"/> (address:port on the stack network) and proves it comes from
/// this bring-up with <see cref="TokenHeader"/>; anything else is refused, so the relay is no open proxy for the seconds it
/// lives. The relay answers for itself only in two ways: 204 at <see cref="ReadyPath"/>, and <see cref="UnreachableHeader"/> on a
/// 502/504 it made because the replica refused or did not answer (a 502 the app itself sent passes through unmarked).
/// </remarks>
internal static class ProbeRelayConfig
{
    public const string TargetHeader = "X-ProxyStack-Target";
    public const string TokenHeader = "X-ProxyStack-Relay-Token";
    /// <summary>Present when the HTTP/2-only app (gRPC) is to be asked over HTTP/2 with prior knowledge.</summary>
    public const string Http2Header = "X-ProxyStack-Http2";
    public const string UnreachableHeader = "X-ProxyStack-Unreachable";
    public const string ReadyPath = "/.proxystack-relay";
    public const string Path = "/tmp/proxystack-relay.conf";
    public const int ContainerPort = 8080;
    /// <summary>Where the relay is published, as the host reaches it.</summary>
    public const string LoopbackHost = "127.0.0.1";
    /// <summary>How long the relay waits for a replica's connection and answer; the host's probe waits a second longer.</summary>
    public const int TimeoutSeconds = 2;

    public static string Write(string token)
    {
        var t = TimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ThrowawayNginxConfig.Write("ProxyStack's probe relay: lives for one bring-up (or one StackStatus), then is removed.", "relay", 256, $$"""
            server {
                listen {{ContainerPort}};
                if ($http_{{HeaderVariable(TokenHeader)}} != "{{token}}") { return 403; }
                location = {{ReadyPath}} { return 204; }
                location / {
                    # Only address:port: the replica's address on the stack network, never a name to resolve.
                    if ($http_{{HeaderVariable(TargetHeader)}} !~ "^[0-9a-fA-F.:\[\]]+:[0-9]+$") { return 400; }
                    proxy_connect_timeout {{t}}s;
                    proxy_read_timeout {{t}}s;
                    proxy_send_timeout {{t}}s;
                    grpc_connect_timeout {{t}}s;
                    grpc_read_timeout {{t}}s;
                    grpc_send_timeout {{t}}s;
                    proxy_set_header Host $http_{{HeaderVariable(TargetHeader)}};
                    grpc_set_header Host $http_{{HeaderVariable(TargetHeader)}};
                    proxy_set_header {{TokenHeader}} "";
                    grpc_set_header {{TokenHeader}} "";
                    proxy_buffering off;
                    error_page 502 504 = @unreachable;
                    if ($http_{{HeaderVariable(Http2Header)}}) { grpc_pass grpc://$http_{{HeaderVariable(TargetHeader)}}; }
                    proxy_pass http://$http_{{HeaderVariable(TargetHeader)}};
                }
                location @unreachable {
                    add_header {{UnreachableHeader}} $upstream_status always;
                    return 502;
                }
            }

        """);
    }

    /// <summary>nginx's variable suffix for a request header: "X-ProxyStack-Target" → "x_proxystack_target".</summary>
    private static string HeaderVariable(string header) => header.ToLowerInvariant().Replace('-', '_');
}
