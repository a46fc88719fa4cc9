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

    /// <summary>This machine's addresses for the readiness probes, read once per process: see <see cref="Cache"/>.</summary>
    public static readonly Cache Own = new(Read, () => Environment.TickCount64);

    /// <summary>
    /// Addresses read once and kept — except a read that found none (every attempt failed), which is read again at the next
    /// ask once <see cref="RetryEmptyAfter"/> has passed, so a process that lives on (a resident MSBuild server) is not left
    /// asking every replica through the relay for the rest of its life.
    /// </summary>
    internal sealed class Cache(Func<HashSet<string>> read, Func<long> nowMilliseconds)
    {
        public static readonly TimeSpan RetryEmptyAfter = TimeSpan.FromSeconds(10);
        private readonly Lock _gate = new();
        private HashSet<string>? _known;
        private long _readAt;

        public HashSet<string> Value
        {
            get
            {
                lock (_gate)
                {
                    var now = nowMilliseconds();
                    if (_known is { Count: > 0 } || (_known is not null && now - _readAt < RetryEmptyAfter.TotalMilliseconds)) return _known;
                    _readAt = now;
                    return _known = read();
                }
            }
        }
    }
}
