using Docker.DotNet.Models;

namespace ProxyStack.Engine;

/// <summary>The Engine API's swarm endpoints StackDeploy uses (services, tasks, configs, overlay networks, pushes).</summary>
internal sealed partial class DockerEngine
{
    /// <summary>
    /// The engine's swarm state ("active", "inactive", …) and whether it is a manager: asked once per engine instance (one task's
    /// run), however many of its steps need it.
    /// </summary>
    public async Task<(string State, bool Manager)> SwarmStateAsync(CancellationToken ct)
    {
        var info = await InfoAsync(ct).ConfigureAwait(false);
        return (info.Swarm?.LocalNodeState is { Length: > 0 } state ? state : "inactive", info.Swarm?.ControlAvailable == true);
    }

    /// <summary>Tags <paramref name="imageId"/> as <paramref name="reference"/> (repository:tag) and pushes it; null, or the engine's error.</summary>
    public async Task<string?> PushAsync(string imageId, string reference, CancellationToken ct)
    {
        var colon = reference.LastIndexOf(':');
        var (repository, tag) = (reference[..colon], reference[(colon + 1)..]);
        try
        {
            await Call($"tag {imageId} as {reference}", () => _client.Images.TagImageAsync(imageId, new ImageTagParameters { RepositoryName = repository, Tag = tag }, ct)).ConfigureAwait(false);
            var errors = new ErrorCollector();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(PullTimeout);
            await Call($"push {reference}", () => _client.Images.PushImageAsync(repository, new ImagePushParameters { Tag = tag }, new AuthConfig(), errors, timeout.Token)).ConfigureAwait(false);
            return errors.Errors;
        }
        catch (EngineRequestException e) { return e.Reason; }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return $"no answer within {PullTimeout.TotalMinutes:0} minutes"; }
    }

    /// <summary>
    /// Removes this engine's other tags of <paramref name="reference"/>'s repository (earlier deploys' pushes), so they do not
    /// keep old builds alive here; an image a container still uses keeps its tag. The registry keeps its copies.
    /// </summary>
    public async Task UntagEarlierPushesAsync(string reference, CancellationToken ct)
    {
        var repository = reference[..reference.LastIndexOf(':')];
        var images = await Call("list images of " + repository, () => _client.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["reference"] = new Dictionary<string, bool> { [repository] = true } },
        }, ct)).ConfigureAwait(false);
        foreach (var tag in images.SelectMany(i => i.RepoTags ?? []).Where(t => t != reference && t.StartsWith(repository + ":", StringComparison.Ordinal)))
        {
            try { await _client.Images.DeleteImageAsync(tag, new ImageDeleteParameters(), ct).ConfigureAwait(false); }
            catch (Docker.DotNet.DockerApiException) { }
        }
    }

    public async Task<IList<SwarmService>> ListServicesAsync(string label, string value, CancellationToken ct) =>
        await Call("list services", () => _client.Swarm.ListServicesAsync(new ServiceListParameters { Filters = LabelFilter(label, value) }, ct)).ConfigureAwait(false);

    public async Task<SwarmService?> InspectServiceAsync(string name, CancellationToken ct) =>
        await CallOrMissing<SwarmService?>("inspect service " + name, async () => await _client.Swarm.InspectServiceAsync(name, ct).ConfigureAwait(false), null).ConfigureAwait(false);

    public async Task CreateServiceAsync(ServiceSpec spec, CancellationToken ct) =>
        await Call("create service " + spec.Name, () => _client.Swarm.CreateServiceAsync(new ServiceCreateParameters { Service = spec }, ct)).ConfigureAwait(false);

    /// <summary>
    /// Replaces the service's spec. Swarm moves a service's version for its own bookkeeping too (a rolling update's status:
    /// moby/swarmkit#1379), so an update sent with the version just read may be refused as "update out of sequence" — the
    /// error `docker stack deploy` fails with now and then (moby/moby#39891). The service is then read again and the same
    /// spec sent with its new version, up to <see cref="OutOfSequenceAttempts"/> times.
    /// </summary>
    public async Task UpdateServiceAsync(SwarmService current, ServiceSpec spec, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Call("update service " + spec.Name, () => _client.Swarm.UpdateServiceAsync(current.ID, new ServiceUpdateParameters { Service = spec, Version = (long)(current.Version?.Index ?? 0) }, ct)).ConfigureAwait(false);
                return;
            }
            catch (EngineRequestException e) when (attempt < OutOfSequenceAttempts && e.Reason.Contains("out of sequence", StringComparison.Ordinal))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), ct).ConfigureAwait(false);
                current = await InspectServiceAsync(current.ID, ct).ConfigureAwait(false)
                    ?? throw new EngineRequestException("update service " + spec.Name, "the service was removed while it was updated", conflict: false);
            }
        }
    }

    private const int OutOfSequenceAttempts = 5;

    public async Task RemoveServiceAsync(string name, CancellationToken ct) =>
        await CallOrMissing("remove service " + name, async () => { await _client.Swarm.RemoveServiceAsync(name, ct).ConfigureAwait(false); return true; }, false).ConfigureAwait(false);

    /// <summary>The service's tasks; none once the service is gone.</summary>
    public async Task<IList<TaskResponse>> ListTasksAsync(string service, CancellationToken ct) =>
        await CallOrMissing<IList<TaskResponse>>("list tasks of " + service, () => _client.Tasks.ListAsync(new TasksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [service] = true } },
        }, ct), []).ConfigureAwait(false);

    /// <summary>Containers of a service's tasks still on this node (running or not), by the label Swarm gives them.</summary>
    public async Task<int> CountServiceContainersAsync(string serviceId, CancellationToken ct) =>
        (await Call("list containers of service " + serviceId, () => _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true, Filters = LabelFilter("com.docker.swarm.service.id", serviceId),
        }, ct)).ConfigureAwait(false)).Count;

    /// <summary>The configs carrying <paramref name="label"/>=<paramref name="value"/> (filtered here: the list endpoint's filters vary by version).</summary>
    public async Task<IReadOnlyList<SwarmConfig>> ListConfigsAsync(string label, string value, CancellationToken ct) =>
        (await Call("list configs", () => _client.Configs.ListConfigsAsync(ct)).ConfigureAwait(false))
            .Where(c => c.Spec?.Labels is { } l && l.TryGetValue(label, out var v) && v == value).ToList();

    /// <summary>Creates a config object; returns its id.</summary>
    public async Task<string> CreateConfigAsync(SwarmConfigSpec spec, CancellationToken ct) =>
        (await Call("create config " + spec.Name, () => _client.Configs.CreateConfigAsync(new SwarmCreateConfigParameters { Config = spec }, ct)).ConfigureAwait(false)).ID;

    /// <summary>Removes a config; false while a service still uses it (the engine refuses).</summary>
    public async Task<bool> RemoveConfigAsync(string id, CancellationToken ct)
    {
        try { await _client.Configs.RemoveConfigAsync(id, ct).ConfigureAwait(false); return true; }
        catch (Docker.DotNet.DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.BadRequest || e.StatusCode == System.Net.HttpStatusCode.Conflict) { return false; }
        catch (Docker.DotNet.DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { return true; }
    }

    /// <summary>The overlay network's id, created with <paramref name="labels"/> when missing; null when a network of that name is not ours.</summary>
    public async Task<string?> EnsureOverlayNetworkAsync(string name, IDictionary<string, string> labels, string label, CancellationToken ct)
    {
        var existing = await CallOrMissing<NetworkResponse?>("inspect network " + name, async () => await _client.Networks.InspectNetworkAsync(name, ct).ConfigureAwait(false), null).ConfigureAwait(false);
        if (existing is not null)
            return existing.Labels is { } l && l.TryGetValue(label, out var v) && v == labels[label] ? existing.ID : null;
        var created = await Call("create network " + name, () => _client.Networks.CreateNetworkAsync(new NetworksCreateParameters
        {
            Name = name, Driver = "overlay", Labels = labels,
        }, ct)).ConfigureAwait(false);
        return created.ID;
    }

    /// <summary>Removes a network; false while tasks are still attached to it.</summary>
    public async Task<bool> RemoveNetworkIfFreeAsync(string name, CancellationToken ct)
    {
        try { await _client.Networks.DeleteNetworkAsync(name, ct).ConfigureAwait(false); return true; }
        catch (Docker.DotNet.DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { return true; }
        catch (Docker.DotNet.DockerApiException e) when (e.StatusCode is System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.Conflict or System.Net.HttpStatusCode.InternalServerError) { return false; }
    }

    /// <summary>
    /// Removes the network <paramref name="name"/> if it carries <paramref name="label"/>=<paramref name="value"/>, retrying
    /// while tasks leave it until <paramref name="until"/>; true when it was removed.
    /// </summary>
    public async Task<bool> EnsureOwnedNetworkGoneAsync(string name, string label, string value, DateTime until, CancellationToken ct)
    {
        var existing = await CallOrMissing<NetworkResponse?>("inspect network " + name, async () => await _client.Networks.InspectNetworkAsync(name, ct).ConfigureAwait(false), null).ConfigureAwait(false);
        if (existing?.Labels is not { } labels || !labels.TryGetValue(label, out var v) || v != value) return false;
        while (!await RemoveNetworkIfFreeAsync(existing.ID, ct).ConfigureAwait(false))
        {
            if (DateTime.UtcNow > until) return false;
            await Task.Delay(500, ct).ConfigureAwait(false);
        }
        // The manager removes a swarm network at once, this node's copy a moment later: gone means gone here too.
        while (await CallOrMissing<NetworkResponse?>("inspect network " + name, async () => await _client.Networks.InspectNetworkAsync(existing.ID, ct).ConfigureAwait(false), null).ConfigureAwait(false) is not null
               && DateTime.UtcNow < until)
            await Task.Delay(200, ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Volumes carrying <paramref name="label"/>=<paramref name="value"/> (a swarm stack's, made by its tasks).</summary>
    public async Task<IReadOnlyList<string>> ListVolumesAsync(string label, string value, CancellationToken ct) =>
        ((await Call("list volumes", () => _client.Volumes.ListAsync(new VolumesListParameters { Filters = LabelFilter(label, value) }, ct)).ConfigureAwait(false)).Volumes ?? [])
            .Select(v => v.Name).ToList();

    private static Dictionary<string, IDictionary<string, bool>> LabelFilter(string label, string value) =>
        new() { ["label"] = new Dictionary<string, bool> { [$"{label}={value}"] = true } };
}
