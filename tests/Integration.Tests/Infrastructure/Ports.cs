using System.Net;
using System.Net.Sockets;

namespace ProxyStack.IntegrationTests.Infrastructure;

internal static class Ports
{
    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int Free() => FreeRun(1);

    private static readonly object Gate = new();
    private static readonly HashSet<int> Given = [];

    /// <summary>
    /// The first of <paramref name="count"/> consecutive loopback ports nobody listens on right now: host networking publishes
    /// replicas on the ports after the proxy's, so a test of it needs the whole run free, not only the first. Taken below the
    /// kernel's ephemeral range, where no outgoing connection's local port (nor a port-0 bind) lands between this check and
    /// the test's bind — a full run once saw the app on the host find StackHostPort + 1 taken that way — and never one this
    /// run already handed out, so tests running side by side never share a port.
    /// </summary>
    public static int FreeRun(int count)
    {
        var (low, high) = Range();
        lock (Gate)
        {
            for (var attempt = 0; ; attempt++)
            {
                var port = Random.Shared.Next(low, high - count);
                if (Enumerable.Range(port, count).Any(Given.Contains)) continue;
                var held = new List<TcpListener>();
                try
                {
                    for (var n = 0; n < count; n++)
                    {
                        var next = new TcpListener(IPAddress.Loopback, port + n);
                        next.Start();
                        held.Add(next);
                    }
                    Given.UnionWith(Enumerable.Range(port, count));
                    return port;
                }
                catch (SocketException) when (attempt < 200)
                {
                    // one of the run is taken: try another first port
                }
                finally
                {
                    foreach (var l in held) l.Stop();
                }
            }
        }
    }

    /// <summary>Ports below the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range), from 20000 at most.</summary>
    private static (int Low, int High) Range()
    {
        var ephemeral = 32768;
        try
        {
            var first = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[0];
            ephemeral = int.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { }
        var low = Math.Min(20000, ephemeral - 8000);
        return low >= 1024 ? (low, ephemeral) : (40000, 60000);
    }

    /// <summary>
    /// A stack name no other test uses: pst-, the run's tag when build/test.sh set one (PROXYSTACK_TEST_RUN), then 8 hex
    /// digits. The tag lets the leak check count only what this run left, not what a killed or concurrent run on the same
    /// engine did.
    /// </summary>
    public static string NewStackName() =>
        "pst-" + (Environment.GetEnvironmentVariable("PROXYSTACK_TEST_RUN") is { Length: > 0 } run ? run + "-" : "") + Guid.NewGuid().ToString("N")[..8];
}
