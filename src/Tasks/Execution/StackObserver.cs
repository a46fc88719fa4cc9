using System.Net;
using System.Net.Sockets;
using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;

namespace ProxyStack.Execution;

/// <summary>Takes the one snapshot the reconciler plans from: a label-filtered listing, image ids, the proxy's config, the host port.</summary>
internal sealed class StackObserver(IContainerEngine engine, IStackLog log, ProbeRelay? relay = null)
{
    private readonly ReadinessWaiter _waiter = new(engine, log, relay);

    public async Task<ObservedState> ObserveAsync(StackModel model, IReadOnlyList<string> images, CancellationToken ct)
    {
        // Independent requests overlap (measured on Podman under load: one after another, they took 10 s): the listing, the
        // volumes, the image ids and which engine this is; then the proxy's config and the replicas' readiness. When each part
        // was done goes into the detail log (-v:d), so that what a no-op StackUp waits for is measured, not guessed.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var done = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        async Task<T> Timed<T>(string part, Task<T> task)
        {
            var result = await task.ConfigureAwait(false);
            done[part] = clock.ElapsedMilliseconds;
            return result;
        }
        var listedAt = DateTimeOffset.UtcNow;
        var listing = engine.ListStackResourcesAsync(model.Name, [model.NetworkName, .. StackNetworking.ContainerNames(model)], ct);
        // The stack's volumes (its owner counts, whether or not this bring-up mounts them), and one that merely holds a key
        // ring's name.
        var volumesTask = engine.ListStackVolumesAsync(model.Name, [.. model.KeysVolumeNames, .. model.DataVolumeNames, .. Reconciler.ServiceVolumeNames(model)], ct);
        var dnsTask = Timed("engine kind", StackNetworking.ReplicasByDns(model) ? engine.DnsAsync(ct) : Task.FromResult(EngineDns.FollowsRenames));
        var idsTask = Timed("image ids", Task.WhenAll(images.Distinct().Select(async image => (image, found: await engine.InspectImageAsync(image, ct).ConfigureAwait(false)))));
        var (containers, networks) = await Timed("listing", listing).ConfigureAwait(false);
        var volumes = await volumesTask.ConfigureAwait(false);
        var ids = (await idsTask.ConfigureAwait(false)).Where(i => i.found is not null).ToDictionary(i => i.image, i => i.found!.Value.Id);

        var proxy = containers.FirstOrDefault(c => c.Name == model.ProxyName && c.BelongsTo(model.Name));
        // The host port needs checking unless our proxy already has exactly that binding (running, or restarting after an
        // engine restart, when it may hold the port for a moment): a replacement that moves to a taken port must be refused
        // while the old proxy still serves.
        var holdsBinding = proxy is not null && proxy.Label(StackLabels.Publish) == ContainerSpecs.PublishLabel(model);
        var unreadyTask = Timed("readiness", ProbeReplicasAsync(model, containers, ct));
        var unreadyServicesTask = Timed("backing containers", CheckServicesAsync(model, containers, ct));
        string? configHash = null;
        if (proxy is { Running: true } && await Timed("proxy config", engine.ReadFileAsync(proxy.Name, NginxConfigWriter.ConfigPath, ct)).ConfigureAwait(false) is { } config)
            configHash = ConfigHash.Of(config);
        var (unready, slotAddresses) = await unreadyTask.ConfigureAwait(false);

        // Host mode: a replica port counts as busy unless the stack's own running host-mode replica holds it.
        var busyReplicaPorts = new HashSet<int>();
        for (var i = 1; i <= StackNetworking.ReplicaHostPorts(model).Count; i++)
        {
            var own = containers.FirstOrDefault(c => c.Name == model.AppName(i) && c.BelongsTo(model.Name));
            var heldByOwn = own is { Running: true } && StackNetworkMode.Parse(own.Label(StackLabels.NetworkMode)) is { OnHostNetwork: true };
            if (!heldByOwn && IsPortBusy("127.0.0.1", StackNetworking.ReplicaPort(model, i))) busyReplicaPorts.Add(StackNetworking.ReplicaPort(model, i));
        }

        var observed = new ObservedState
        {
            Containers = containers,
            At = listedAt,
            Networks = networks,
            Volumes = volumes,
            ImageIds = ids,
            ProxyConfigHash = configHash,
            BusyHostPort = holdsBinding ? 0 : new[] { model.HostPort, model.HttpsPort }.FirstOrDefault(p => p != 0 && IsPortBusy(model.HostAddress, p)),
            UnreadyReplicas = unready,
            UnreadyServices = await unreadyServicesTask.ConfigureAwait(false),
            BusyReplicaPorts = busyReplicaPorts,
            BusyAppOnHostPort = model.AppOnHostPort > 0 && IsPortBusy(StackNetworking.AppOnHostBindAddress, model.AppOnHostPort) ? model.AppOnHostPort : 0,
            Dns = await dnsTask.ConfigureAwait(false),
            SlotAddresses = slotAddresses,
        };
        log.Detail("profile: observe parts done at " + string.Join(", ", done.OrderBy(d => d.Value).Select(d => $"{d.Key} {d.Value} ms")) + $", all {clock.ElapsedMilliseconds} ms");
        return observed;
    }

    /// <summary>
    /// Probes every running replica that would otherwise be kept, once and in parallel, with the current health settings:
    /// a replica is kept only when it is ready now (a changed StackHealthPath, or a replica left unready by an interrupted
    /// run, shows here and makes the reconciler replace it).
    /// </summary>
    /// <returns>The replicas that did not answer, with what happened; and every probed replica's address on the stack network
    /// (see <see cref="ObservedState.SlotAddresses"/>: the probe's own inspection, no request more).</returns>
    private async Task<(IReadOnlyDictionary<string, string> Unready, IReadOnlyDictionary<string, string> Addresses)> ProbeReplicasAsync(StackModel model, IReadOnlyList<ObservedContainer> containers, CancellationToken ct)
    {
        var network = StackNetworking.ContainerNetwork(model);
        // A replica of another networking mode is replaced whatever it answers (and may sit on a network the relay is not on).
        // Each replica with its own set's probe: the front project's, or its StackProject's.
        var candidates = containers.Where(c => c.BelongsTo(model.Name) && c.Running && c.Role == StackLabels.RoleApp && c.Label(StackLabels.NetworkMode) == model.NetworkMode)
            .Select(c => (Container: c, Set: model.SetOf(c.Project)))
            .Where(x => x.Set is { } set && x.Container.Replica is { } n && n <= set.Replicas && x.Container.Name == set.AppName(n)).ToList();
        var results = await Task.WhenAll(candidates.Select(async x =>
        {
            var (c, set) = (x.Container, x.Set!);
            var (failure, address) = await _waiter.ProbeReplicaOnceAtAsync(c.Name, network,
                StackNetworking.ProbeAddress(set), StackNetworking.ReplicaPort(set, c.Replica!.Value), set.Health, ct).ConfigureAwait(false);
            return (c.Name, failure, address);
        })).ConfigureAwait(false);
        return (results.Where(r => r.failure is not null).ToDictionary(r => r.Name, r => r.failure!),
            results.Where(r => r.address is not null).ToDictionary(r => r.Name, r => r.address!, StringComparer.Ordinal));
    }

    /// <summary>Checks every running backing container of the stack once, by its rule, in parallel (see <see cref="ObservedState.UnreadyServices"/>).</summary>
    private async Task<IReadOnlyDictionary<string, string>> CheckServicesAsync(StackModel model, IReadOnlyList<ObservedContainer> containers, CancellationToken ct)
    {
        var network = StackNetworking.ContainerNetwork(model);
        var results = await Task.WhenAll(model.Services
            .Select(s => (Service: s, Container: containers.FirstOrDefault(c => c.Name == model.ServiceName(s.Name) && c.BelongsTo(model.Name) && c.Running)))
            .Where(x => x.Container is not null)
            .Select(async x => (x.Container!.Name, Failure: await ServiceReadiness.CheckOnceAsync(engine, _waiter, x.Container.Name, network, x.Service.ReadyWhen, x.Service.Port, ct).ConfigureAwait(false))))
            .ConfigureAwait(false);
        return results.Where(r => r.Failure is not null).ToDictionary(r => r.Name, r => r.Failure!);
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
