namespace ProxyStack.Execution;

/// <summary>
/// This machine's own IP addresses. .NET's Linux enumeration can throw ArgumentException ("An invalid IP address was
/// specified") when an interface appears or goes while it reads them (dotnet/runtime#49515) — on a machine where other
/// stacks' containers start and stop, a veth at a time. A full CI-style run of 2026-12-07 failed a replica's readiness
/// wait on it (STACK4007). So a failed read is read again, a few times; if every read fails, the set is empty.
/// </summary>
internal static class MachineAddresses
{
    public const int Attempts = 10;

    public static HashSet<string> Read() => Read(() => System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
        .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address.ToString()));

    internal static HashSet<string> Read(Func<IEnumerable<string>> read)
    {
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            try { return read().ToHashSet(StringComparer.Ordinal); }
            catch (Exception e) when (e is ArgumentException or System.Net.NetworkInformation.NetworkInformationException)
            {
                if (attempt < Attempts) Thread.Sleep(20 * attempt);
            }
        }
        return [];
    }

    /// <summary>This machine's addresses for the readiness probes, kept by the process: see <see cref="Cache"/>.</summary>
    public static readonly Cache Own = new(Read, () => Environment.TickCount64);

    /// <summary>
    /// Addresses read once and kept, and read again when asked for one they lack: each stack network brings a bridge of its
    /// own, and a process that lives on (a resident MSBuild server) read the addresses before it existed. A full run of
    /// 2026-12-07 saw it: a replica on a network made after the server's read was asked through the relay, its direct route
    /// never tried. An address still missing after a fresh read (an engine in a VM, whose gateway is not this machine's) is
    /// read for again only after <see cref="RetryAfter"/>.
    /// </summary>
    internal sealed class Cache(Func<HashSet<string>> read, Func<long> nowMilliseconds)
    {
        public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(10);
        private readonly Lock _gate = new();
        private readonly Dictionary<string, long> _missed = new(StringComparer.Ordinal);
        private HashSet<string>? _known;

        public bool Contains(string address)
        {
            lock (_gate)
            {
                if (_known?.Contains(address) == true) return true;
                var now = nowMilliseconds();
                if (_known is not null && _missed.TryGetValue(address, out var at) && now - at < RetryAfter.TotalMilliseconds) return false;
                _known = read();
                if (_known.Contains(address)) { _missed.Remove(address); return true; }
                _missed[address] = now;
                return false;
            }
        }
    }
}
