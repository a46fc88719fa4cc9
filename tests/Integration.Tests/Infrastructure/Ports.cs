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

    public static string NewStackName() => "pst-" + Guid.NewGuid().ToString("N")[..8];
}
