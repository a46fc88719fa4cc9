namespace ProxyStack.Proxy;

/// <summary>
/// The config of a throwaway nginx ProxyStack runs for seconds (the probe relay, the host network check): one worker,
/// errors only when critical, no access log, and every file it writes under /tmp, so it runs as nginx's unprivileged user
/// on any nginx image.
/// </summary>
internal static class ThrowawayNginxConfig
{
    /// <param name="purpose">The comment on its first line. Example: ProxyStack's host network check: lives for a second, then is removed.</param>
    /// <param name="name">Names its pid and temp files under /tmp. Example: relay</param>
    /// <param name="workerConnections">Connections its one worker accepts.</param>
    /// <param name="server">Its server block, indented by four spaces, ending with a line break.</param>
    public static string Write(string purpose, string name, int workerConnections, string server) => $$"""
        # {{purpose}}
        daemon off;
        worker_processes 1;
        pid /tmp/proxystack-{{name}}.pid;
        error_log stderr crit;
        events { worker_connections {{workerConnections}}; }
        http {
            access_log off;
            server_tokens off;
            client_body_temp_path /tmp/{{name}}-body;
            proxy_temp_path /tmp/{{name}}-proxy;
            fastcgi_temp_path /tmp/{{name}}-fastcgi;
            uwsgi_temp_path /tmp/{{name}}-uwsgi;
            scgi_temp_path /tmp/{{name}}-scgi;
        {{server}}}

        """;
}
