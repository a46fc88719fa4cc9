using System.Net;
using System.Net.Sockets;

namespace ProxyStack.IntegrationTests.Infrastructure;

internal static class Ports
{
    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int Free() => FreeRun(1);

    /// <summary>
    /// The first of <paramref name="count"/> consecutive loopback ports nobody listens on right now: host networking publishes
    /// replicas on the ports after the proxy's, so a test of it needs the whole run free, not only the first.
    /// </summary>
    public static int FreeRun(int count)
    {
        for (var attempt = 0; ; attempt++)
        {
            var held = new List<TcpListener>();
            try
            {
                var first = new TcpListener(IPAddress.Loopback, 0);
                first.Start();
                held.Add(first);
                var port = ((IPEndPoint)first.LocalEndpoint).Port;
                if (port + count - 1 > IPEndPoint.MaxPort) continue;
                for (var n = 1; n < count; n++)
                {
                    var next = new TcpListener(IPAddress.Loopback, port + n);
                    next.Start();
                    held.Add(next);
                }
                return port;
            }
            catch (SocketException) when (attempt < 50)
            {
                // one of the run is taken: try another first port
            }
            finally
            {
                foreach (var l in held) l.Stop();
            }
        }
    }

    /// <summary>
    /// A stack name no other test uses: pst-, the run's tag when build/test.sh set one (PROXYSTACK_TEST_RUN), then 8 hex
    /// digits. The tag lets the leak check count only what this run left, not what a killed or concurrent run on the same
    /// engine did.
    /// </summary>
    public static string NewStackName() =>
        "pst-" + (Environment.GetEnvironmentVariable("PROXYSTACK_TEST_RUN") is { Length: > 0 } run ? run + "-" : "") + Guid.NewGuid().ToString("N")[..8];
}
