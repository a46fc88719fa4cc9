using System.Net;
using System.Net.Sockets;

namespace ProxyStack.IntegrationTests.Infrastructure;

internal static class Ports
{
    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int Free()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>
    /// A stack name no other test uses: pst-, the run's tag when build/test.sh set one (PROXYSTACK_TEST_RUN), then 8 hex
    /// digits. The tag lets the leak check count only what this run left, not what a killed or concurrent run on the same
    /// engine did.
    /// </summary>
    public static string NewStackName() =>
        "pst-" + (Environment.GetEnvironmentVariable("PROXYSTACK_TEST_RUN") is { Length: > 0 } run ? run + "-" : "") + Guid.NewGuid().ToString("N")[..8];
}
