using System.Net;
using System.Net.Sockets;
using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;

namespace ProxyStack.Execution;

/// <summary>Takes the one snapshot the reconciler plans from: a label-filtered listing, image ids, the proxy's config, the host port.</summary>
internal sealed class StackObserver(IContainerEngine engine)
{
    public async Task<ObservedState> ObserveAsync(StackModel model, IReadOnlyList<string> images, CancellationToken ct)
    {
        var names = new List<string> { model.NetworkName, model.ProxyName };
        names.AddRange(Enumerable.Range(1, model.Replicas).Select(model.AppName));
        var (containers, networks) = await engine.ListStackResourcesAsync(model.Name, names, ct).ConfigureAwait(false);

        var ids = new Dictionary<string, string>();
        foreach (var image in images.Distinct())
            if (await engine.InspectImageAsync(image, ct).ConfigureAwait(false) is { } found) ids[image] = found.Id;

        var proxy = containers.FirstOrDefault(c => c.Name == model.ProxyName && c.BelongsTo(model.Name));
        string? configHash = null;
        if (proxy is { Running: true } && await engine.ReadFileAsync(proxy.Name, NginxConfigWriter.ConfigPath, ct).ConfigureAwait(false) is { } config)
            configHash = ConfigHash.Of(config);

        // Host mode: a replica port counts as busy unless the stack's own running host-mode replica holds it.
        var busyReplicaPorts = new HashSet<int>();
        for (var i = 1; i <= StackNetworking.ReplicaHostPorts(model).Count; i++)
        {
            var own = containers.FirstOrDefault(c => c.Name == model.AppName(i) && c.BelongsTo(model.Name));
            var heldByOwn = own is { Running: true } && own.Label(StackLabels.NetworkMode) == StackNetworking.Host;
            if (!heldByOwn && IsPortBusy("127.0.0.1", StackNetworking.ReplicaPort(model, i))) busyReplicaPorts.Add(StackNetworking.ReplicaPort(model, i));
        }

        return new ObservedState
        {
            Containers = containers,
            Networks = networks,
            ImageIds = ids,
            ProxyConfigHash = configHash,
            HostPortBusy = proxy is not { Running: true } && IsPortBusy(model.HostAddress, model.HostPort),
            BusyReplicaPorts = busyReplicaPorts,
            EngineOperatingSystem = model.NetworkMode == StackNetworking.Host ? await engine.GetOperatingSystemAsync(ct).ConfigureAwait(false) : "",
        };
    }

    /// <summary>Whether something already listens on address:port (another process, or another stack's proxy).</summary>
    public static bool IsPortBusy(string address, int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Parse(address), port);
            listener.Server.ExclusiveAddressUse = true;
            listener.Start();
            listener.Stop();
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            return true;
        }
        catch (SocketException)
        {
            // Address not assigned to this machine (e.g. a remote engine's address): let the engine decide.
            return false;
        }
    }
}
