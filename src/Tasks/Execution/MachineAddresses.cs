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
}
