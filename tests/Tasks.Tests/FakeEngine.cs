using ProxyStack.Engine;
using ProxyStack.Planning;

namespace ProxyStack.Tests;

/// <summary>An in-memory engine for planning and adapter tests. Records every call but container inspection (polled); can be told to fail.</summary>
internal sealed class FakeEngine : IContainerEngine
{
    /// <summary>Thread-safe, as an engine is: the executor and the probe relay call it side by side.</summary>
    public SynchronizedList Calls { get; } = new();
    public System.Collections.Concurrent.ConcurrentDictionary<string, (string Id, Dictionary<string, string> Labels, bool Running)> Containers { get; } = new();
    public Dictionary<string, Dictionary<string, string>> Networks { get; } = [];

    /// <summary>Holds what <paramref name="observed"/> saw: its containers, networks and image ids (a stack a previous StackUp left).</summary>
    public FakeEngine Holding(ObservedState observed)
    {
        foreach (var (k, v) in observed.ImageIds) Images[k] = v;
        foreach (var c in observed.Containers) Containers[c.Name] = (c.Id, c.Labels.ToDictionary(), c.Running);
        foreach (var n in observed.Networks) Networks[n.Name] = n.Labels.ToDictionary();
        return this;
    }
    public Dictionary<string, Dictionary<string, string>> Volumes { get; } = [];
    /// <summary>Every container spec created, by name (the last one of a name).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, ContainerSpec> Specs { get; } = new();
    public Dictionary<string, string> Images { get; } = [];
    /// <summary>Labels of images in <see cref="Images"/>, by reference; none when absent.</summary>
    public Dictionary<string, Dictionary<string, string>> ImageLabels { get; } = [];
    public Exception? PingFailure { get; set; }
    /// <summary>Containers that "exit" as soon as they are started, with this exit code.</summary>
    public Dictionary<string, long> CrashOnStart { get; } = [];
    /// <summary>Thrown by the label-filtered listing, as an engine that refuses a request would.</summary>
    public Exception? ListFailure { get; set; }
    /// <summary>Thrown by an image build, as the engine's builder does when a step fails.</summary>
    public Exception? BuildFailure { get; set; }
    /// <summary>What every exec returns (nginx -t and reload in the proxy).</summary>
    public (long ExitCode, string Output) ExecResult { get; set; } = (0, "");
    /// <summary>Every exec'd command line, in order.</summary>
    public List<string> Execs { get; } = [];
    /// <summary>What a container's log holds, where not the default crash lines.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string> Logs { get; } = new();
    /// <summary>Thrown by every log read, as an engine whose logging driver keeps nothing to read does.</summary>
    public Exception? LogsFailure { get; set; }
    /// <summary>The address containers report on the stack network (null: none yet).</summary>
    public string? Address { get; set; }
    /// <summary>Addresses of single containers, where they differ from <see cref="Address"/>.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, string> Addresses { get; } = new();
    /// <summary>The stack network's gateway containers report (null: none, as an engine in a VM looks from here).</summary>
    public string? Gateway { get; set; }
    private int _ids;

    public string Endpoint => "fake://engine";

    public Task PingAsync(CancellationToken ct)
    {
        Calls.Add("ping");
        return PingFailure is null ? Task.CompletedTask : Task.FromException(PingFailure);
    }

    public Task<(IReadOnlyList<ObservedContainer> Containers, IReadOnlyList<ObservedNetwork> Networks)> ListStackResourcesAsync(
        string stack, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        Calls.Add($"list {stack}");
        if (ListFailure is not null) return Task.FromException<(IReadOnlyList<ObservedContainer>, IReadOnlyList<ObservedNetwork>)>(ListFailure);
        IReadOnlyList<ObservedContainer> c = Containers
            .Where(kv => kv.Value.Labels.GetValueOrDefault(StackLabels.Stack) == stack || names.Contains(kv.Key))
            .Select(kv => new ObservedContainer(kv.Value.Id, kv.Key, kv.Value.Labels, kv.Value.Running)).ToList();
        IReadOnlyList<ObservedNetwork> n = Networks
            .Where(kv => kv.Value.GetValueOrDefault(StackLabels.Stack) == stack || names.Contains(kv.Key))
            .Select(kv => new ObservedNetwork("net-" + kv.Key, kv.Key, kv.Value)).ToList();
        return Task.FromResult((c, n));
    }

    public Task<(string Id, IReadOnlyDictionary<string, string> Labels, string User)?> InspectImageAsync(string reference, CancellationToken ct)
    {
        Calls.Add($"inspect image {reference}");
        // An image known by id only through ImageUsers is its own id.
        var id = Images.GetValueOrDefault(reference) ?? (ImageUsers.ContainsKey(reference) ? reference : null);
        return Task.FromResult<(string, IReadOnlyDictionary<string, string>, string)?>(
            id is not null ? (id, ImageLabels.GetValueOrDefault(reference) ?? [], ImageUsers.GetValueOrDefault(reference, "")) : null);
    }

    /// <summary>Images' configured users, by reference or id (an image only here exists too, under its own id; not given: root's "").</summary>
    public Dictionary<string, string> ImageUsers { get; } = [];

    public Task PullImageAsync(string reference, CancellationToken ct) => Record($"pull {reference}");
    public Task<string?> RemoveImageUnlessHeldAsync(string id, CancellationToken ct)
    {
        // A tag is a reference (not an id) that still names the image.
        var tags = Images.Where(i => i.Value == id && !i.Key.StartsWith("sha256:", StringComparison.Ordinal)).Select(i => i.Key).Order(StringComparer.Ordinal).ToList();
        if (tags.Count > 0) return Task.FromResult<string?>($"tagged {string.Join(", ", tags)}, not by this build");
        Calls.Add($"rmi {id}");
        foreach (var key in Images.Where(i => i.Value == id).Select(i => i.Key).ToList()) Images.Remove(key);
        return Task.FromResult<string?>(null);
    }
    public Task BuildImageAsync(string tag, Stream context, IReadOnlyDictionary<string, string> labels, CancellationToken ct) =>
        BuildFailure is null ? Record($"build {tag}") : Task.FromException(BuildFailure);

    public Task<string?> HostGatewayAsync(CancellationToken ct) => Task.FromResult<string?>("172.17.0.1");
    /// <summary>Whether it says it runs rootless (its /info security options).</summary>
    public bool Rootless { get; init; }
    public Task<bool> IsRootlessAsync(CancellationToken ct) => Task.FromResult(Rootless);

    public Task CreateNetworkAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        Networks[name] = labels.ToDictionary();
        return Record($"network create {name}");
    }

    public Task<bool> RemoveNetworkAsync(string name, CancellationToken ct)
    {
        Calls.Add($"network rm {name}");
        // As the engine: a network with containers attached cannot be removed.
        if (Specs.Where(s => Containers.ContainsKey(s.Key)).Any(s => s.Value.Network == name))
            return Task.FromException<bool>(new EngineRequestException($"remove network {name}", "error while removing network: network has active endpoints", conflict: true));
        return Task.FromResult(Networks.Remove(name));
    }

    public Task<IReadOnlyList<ObservedVolume>> ListStackVolumesAsync(string stack, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        if (ListFailure is not null) return Task.FromException<IReadOnlyList<ObservedVolume>>(ListFailure);
        IReadOnlyList<ObservedVolume> v = Volumes
            .Where(kv => kv.Value.GetValueOrDefault(StackLabels.Stack) == stack || names.Contains(kv.Key))
            .Select(kv => new ObservedVolume(kv.Key, kv.Value)).ToList();
        return Task.FromResult(v);
    }

    public Task CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        var recorded = Record($"volume create {name}");
        if (!recorded.IsFaulted) Volumes[name] = labels.ToDictionary();
        return recorded;
    }

    public Task<bool> RemoveVolumeAsync(string name, CancellationToken ct)
    {
        var recorded = Record($"volume rm {name}");
        return recorded.IsFaulted ? Task.FromException<bool>(recorded.Exception!.InnerException!) : Task.FromResult(Volumes.Remove(name));
    }

    /// <summary>A container the engine creates while the client sees the request cancelled (Ctrl-C with the request in flight).</summary>
    public string? CancelAfterCreating { get; set; }

    /// <summary>Probe relays by container name: each one a <see cref="FakeRelay"/> doing what the relay's nginx config says.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, FakeRelay> Relays { get; } = new();
    /// <summary>Every probe any relay forwarded: "address:port path".</summary>
    public List<string> Forwarded { get; } = [];
    /// <summary>Relays exit as soon as they start (an engine that cannot run nginx's image unprivileged).</summary>
    public bool RelayCrashes { get; set; }

    public Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct) =>
        RelayCreateDelay > TimeSpan.Zero && spec.Files.Any(f => f.Path == Proxy.ProbeRelayConfig.Path) ? CreateLateAsync(spec, ct) : CreateNow(spec);

    /// <summary>
    /// How long a relay's create takes on the engine's side. A caller that stops waiting (its token cancelled) gets
    /// OperationCanceledException at once while the engine goes on and creates it, as a real engine does with a request its
    /// client abandoned; <see cref="LateCreates"/> complete when the engine is done.
    /// </summary>
    public TimeSpan RelayCreateDelay { get; set; }
    public List<Task> LateCreates { get; } = [];
    /// <summary>Called when a relay's create with <see cref="RelayCreateDelay"/> begins.</summary>
    public Action? RelayCreating { get; set; }

    private async Task<string> CreateLateAsync(ContainerSpec spec, CancellationToken ct)
    {
        RelayCreating?.Invoke();
        var engineSide = Task.Delay(RelayCreateDelay).ContinueWith(_ => CreateNow(spec), TaskScheduler.Default).Unwrap();
        lock (LateCreates) LateCreates.Add(engineSide);
        var abandoned = Task.Delay(Timeout.Infinite, ct);
        if (await Task.WhenAny(engineSide, abandoned) != engineSide) throw new OperationCanceledException(ct);
        return await engineSide;
    }

    private Task<string> CreateNow(ContainerSpec spec)
    {
        Specs[spec.Name] = spec;
        if (spec.Files.FirstOrDefault(f => f.Path == Proxy.ProbeRelayConfig.Path) is { } relayConfig)
        {
            Relays[spec.Name] = new FakeRelay(System.Text.RegularExpressions.Regex.Match(relayConfig.Content, "!= \"([0-9A-F]+)\"").Groups[1].Value, Forwarded);
            RelayCreated?.Invoke();
        }
        var id = $"{++_ids:x4}".PadLeft(64, '0');
        Containers[spec.Name] = (id, spec.Labels.ToDictionary(), false);
        Calls.Add($"create {spec.Name}");
        return spec.Name == CancelAfterCreating ? Task.FromException<string>(new OperationCanceledException()) : Task.FromResult(id);
    }

    public Task StartContainerAsync(string name, CancellationToken ct)
    {
        var recorded = Record($"start {name}");
        if (recorded.IsFaulted) return recorded;
        var delay = Relays.ContainsKey(name) && RelayStartDelay > TimeSpan.Zero ? RelayStartDelay : StartDelay;
        if (delay > TimeSpan.Zero) return StartLateAsync(name, delay, ct);
        MarkStarted(name);
        return recorded;
    }

    /// <summary>How long every start takes (0: none; an engine's start takes a while, so starts in flight overlap).</summary>
    public TimeSpan StartDelay { get; set; }

    /// <summary>The most starts that were in flight at once (those that took a while: <see cref="StartDelay"/>, <see cref="RelayStartDelay"/>).</summary>
    public int MostStartsAtOnce => _mostStarts;
    private int _starts, _mostStarts;

    private async Task StartLateAsync(string name, TimeSpan delay, CancellationToken ct)
    {
        var now = Interlocked.Increment(ref _starts);
        for (var most = _mostStarts; now > most; most = _mostStarts) Interlocked.CompareExchange(ref _mostStarts, now, most);
        try { await Task.Delay(delay, ct); }
        finally { Interlocked.Decrement(ref _starts); }
        MarkStarted(name);
    }

    private void MarkStarted(string name)
    {
        Containers[name] = Containers[name] with { Running = !CrashOnStart.ContainsKey(name) && !(RelayCrashes && Relays.ContainsKey(name)) };
        Started?.Invoke(name);
    }

    /// <summary>Called when a container starts (a test's stand-in for it can start listening then).</summary>
    public Action<string>? Started { get; set; }

    /// <summary>Called when a relay is created (a test's replica can start listening then).</summary>
    public Action? RelayCreated { get; set; }

    /// <summary>How long a relay's start takes (an engine busy starting the replicas beside it).</summary>
    public TimeSpan RelayStartDelay { get; set; }

    public Task RenameContainerAsync(string name, string newName, CancellationToken ct)
    {
        var recorded = Record($"rename {name} {newName}");
        if (recorded.IsFaulted) return recorded;
        Containers[newName] = Containers[name];
        Containers.TryRemove(name, out _);
        return recorded;
    }

    /// <summary>A Docker-like engine (Podman's side is planned from ObservedState and run in PodmanTests).</summary>
    public Task<EngineDns> DnsAsync(CancellationToken ct) => Task.FromResult(EngineDns.FollowsRenames);

    public Task RejoinNetworkAsync(string name, string network, string alias, CancellationToken ct) => Record($"rejoin {name} {network} as {alias}");

    public Task StopContainerAsync(string name, TimeSpan timeout, CancellationToken ct)
    {
        if (Containers.TryGetValue(name, out var c)) Containers[name] = c with { Running = false };
        return Record($"stop {name}");
    }

    public Task<bool> RemoveContainerAsync(string name, CancellationToken ct)
    {
        if (Relays.TryRemove(name, out var relay)) relay.Dispose();
        var recorded = Record($"rm {name}");
        return recorded.IsFaulted ? Task.FromException<bool>(recorded.Exception!.InnerException!) : Task.FromResult(Containers.TryRemove(name, out _));
    }

    public Task<ContainerStatus?> InspectContainerAsync(string name, string network, CancellationToken ct) =>
        Task.FromResult(Containers.TryGetValue(name, out var c)
            ? new ContainerStatus(c.Id, c.Running, c.Running ? "running" : "exited", CrashOnStart.GetValueOrDefault(name), (Addresses.TryGetValue(name, out var own) ? own : Address), 0)
            {
                Gateway = Gateway,
                PublishedPorts = c.Running && Relays.TryGetValue(name, out var relay) ? new Dictionary<int, int> { [Proxy.ProbeRelayConfig.ContainerPort] = relay.Port } : new Dictionary<int, int>(),
            }
            : null);

    public Task<string> GetLogsAsync(string name, int tail, CancellationToken ct) =>
        LogsFailure is { } failure ? Task.FromException<string>(failure)
        : Task.FromResult(Logs.TryGetValue(name, out var logs) ? logs : $"log of {name}\nUnhandled exception: boom");
    public Task FollowLogsAsync(string name, Action<string> onLine, CancellationToken ct, DateTimeOffset? since = null) => Task.CompletedTask;
    public async Task<(long ExitCode, string Output)> ExecAsync(string name, IReadOnlyList<string> command, CancellationToken ct)
    {
        lock (Execs) Execs.Add($"{name}: {string.Join(' ', command)}");
        if (ExecHangs) await Task.Delay(Timeout.Infinite, ct);
        if (ExecFailure is { } failure) throw failure;
        return ExecResult;
    }
    /// <summary>Thrown by every exec, as an engine does when the command cannot start (no sh in the image).</summary>
    public Exception? ExecFailure { get; set; }
    /// <summary>Every exec waits until it is cancelled (a readiness command that never returns).</summary>
    public bool ExecHangs { get; set; }
    public Task WriteFileAsync(string name, string path, string content, CancellationToken ct) => Record($"write {name}:{path}");
    /// <summary>Files read from containers, by "name:path" (none by default: a proxy's config then reads as changed).</summary>
    public Dictionary<string, string> Files { get; } = [];
    public Task<string?> ReadFileAsync(string name, string path, CancellationToken ct) => Task.FromResult(Files.GetValueOrDefault($"{name}:{path}"));
    /// <summary>Images' own files, by "image:path", read through a container of the image (created, not necessarily started).</summary>
    public Dictionary<string, string> ImageFiles { get; } = [];
    public Task<string?> ReadImageFileAsync(string name, string path, CancellationToken ct)
    {
        Calls.Add($"read {name}:{path}");
        return Task.FromResult(Containers.ContainsKey(name) ? ImageFiles.GetValueOrDefault($"{Specs[name].Image}:{path}") : null);
    }

    /// <summary>Calls (by the start of their recorded text, e.g. "rename hello-proxy-retiring") that the engine refuses.</summary>
    public List<string> FailingCalls { get; } = [];

    private Task Record(string call)
    {
        Calls.Add(call);
        return FailingCalls.Any(call.StartsWith)
            ? Task.FromException(new EngineRequestException(call, "refused by the test", conflict: false))
            : Task.CompletedTask;
    }
}

/// <summary>A list of recorded calls that many threads may add to; reads take a snapshot.</summary>
internal sealed class SynchronizedList : IEnumerable<string>
{
    private readonly List<string> _items = [];
    public void Add(string item) { lock (_items) _items.Add(item); }
    public int Count { get { lock (_items) return _items.Count; } }
    public string this[int index] { get { lock (_items) return _items[index]; } }
    public int IndexOf(string item) { lock (_items) return _items.IndexOf(item); }
    public IEnumerator<string> GetEnumerator() { lock (_items) return _items.ToList().GetEnumerator(); }
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
