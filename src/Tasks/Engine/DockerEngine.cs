using System.Net;
using System.Net.Sockets;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using ProxyStack.Planning;
using ContainerSpec = ProxyStack.Planning.ContainerSpec;

namespace ProxyStack.Engine;

/// <summary>
/// <see cref="IContainerEngine"/> over Docker.DotNet: the only file that uses its types. It sends no fixed API version, so the
/// daemon answers with its own (1.41 on Debian's engine). Driver errors are translated here and nowhere else.
/// </summary>
internal sealed class DockerEngine : IContainerEngine, IDisposable
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);
    private readonly DockerClient _client;

    public DockerEngine(string? endpoint = null)
    {
        Endpoint = ResolveEndpoint(endpoint);
        _client = new DockerClientBuilder().WithEndpoint(new Uri(Endpoint)).Build();
    }

    public string Endpoint { get; }

    /// <summary>DOCKER_HOST when set, else the platform's default socket.</summary>
    public static string ResolveEndpoint(string? explicitEndpoint)
    {
        if (!string.IsNullOrWhiteSpace(explicitEndpoint)) return explicitEndpoint.Trim();
        var env = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (!string.IsNullOrWhiteSpace(env)) return env.Trim();
        return OperatingSystem.IsWindows() ? "npipe://./pipe/docker_engine" : "unix:///var/run/docker.sock";
    }

    public void Dispose() => _client.Dispose();

    public async Task PingAsync(CancellationToken ct)
    {
        if (Endpoint.StartsWith("unix://", StringComparison.Ordinal) && !File.Exists(Endpoint["unix://".Length..]))
            throw new EngineUnavailableException(Endpoint, "the socket does not exist");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(PingTimeout);
        try
        {
            await _client.System.PingAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new EngineUnavailableException(Endpoint, $"no answer within {PingTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new EngineUnavailableException(Endpoint, Describe(e), e);
        }
    }

    public async Task<string> GetOperatingSystemAsync(CancellationToken ct) =>
        (await Call("engine info", () => _client.System.GetSystemInfoAsync(ct)).ConfigureAwait(false)).OperatingSystem ?? "";

    public async Task<(IReadOnlyList<ObservedContainer> Containers, IReadOnlyList<ObservedNetwork> Networks)> ListStackResourcesAsync(
        string stack, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        var labelFilter = $"{StackLabels.Stack}={stack}";
        var containers = new Dictionary<string, ObservedContainer>();
        var byLabel = await Call("list containers", () => _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [labelFilter] = true } },
        }, ct)).ConfigureAwait(false);
        var byName = names.Count == 0 ? [] : await Call("list containers", () => _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = names.ToDictionary(n => $"^/{n}$", _ => true) },
        }, ct)).ConfigureAwait(false);
        foreach (var c in byLabel.Concat(byName))
            containers[c.ID] = new ObservedContainer(c.ID, c.Names.FirstOrDefault()?.TrimStart('/') ?? c.ID,
                (IReadOnlyDictionary<string, string>?)c.Labels ?? new Dictionary<string, string>(), c.State == "running");

        var networks = new Dictionary<string, ObservedNetwork>();
        var netsByLabel = await Call("list networks", () => _client.Networks.ListNetworksAsync(new NetworksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [labelFilter] = true } },
        }, ct)).ConfigureAwait(false);
        var netsByName = names.Count == 0 ? [] : await Call("list networks", () => _client.Networks.ListNetworksAsync(new NetworksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = names.ToDictionary(n => n, _ => true) },
        }, ct)).ConfigureAwait(false);
        // The name filter matches substrings; keep exact names only.
        foreach (var n in netsByLabel.Concat(netsByName.Where(n => names.Contains(n.Name))))
            networks[n.ID] = new ObservedNetwork(n.ID, n.Name, (IReadOnlyDictionary<string, string>?)n.Labels ?? new Dictionary<string, string>());
        return (containers.Values.OrderBy(c => c.Name, StringComparer.Ordinal).ToList(), networks.Values.OrderBy(n => n.Name, StringComparer.Ordinal).ToList());
    }

    public Task<(string Id, IReadOnlyDictionary<string, string> Labels)?> InspectImageAsync(string reference, CancellationToken ct) =>
        CallOrMissing<(string, IReadOnlyDictionary<string, string>)?>("inspect image " + reference, async () =>
        {
            var image = await _client.Images.InspectImageAsync(reference, ct).ConfigureAwait(false);
            return (image.ID, (IReadOnlyDictionary<string, string>?)image.Config?.Labels ?? new Dictionary<string, string>());
        }, null);

    public async Task PullImageAsync(string reference, CancellationToken ct)
    {
        var image = Model.ImageReference.Parse(reference) ?? throw new EngineRequestException("pull " + reference, "invalid reference", conflict: false);
        var progress = new ErrorCollector();
        var name = (image.Registry is null ? "" : image.Registry + "/") + image.Repository;
        await Call("pull " + reference, () => _client.Images.CreateImageAsync(new ImagesCreateParameters
        {
            FromImage = name,
            Tag = image.Digest ?? image.Tag ?? "latest",
        }, null, progress, ct)).ConfigureAwait(false);
        if (progress.Errors is { } errors) throw new EngineRequestException("pull " + reference, errors, conflict: false);
    }

    public Task<bool> RemoveImageAsync(string reference, CancellationToken ct) =>
        CallOrMissing("remove image " + reference, async () =>
        {
            await _client.Images.DeleteImageAsync(reference, new ImageDeleteParameters { Force = false }, ct).ConfigureAwait(false);
            return true;
        }, false);

    public async Task BuildImageAsync(string tag, Stream context, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        var progress = new ErrorCollector();
        await Call("build image " + tag, () => _client.Images.BuildImageFromDockerfileAsync(new ImageBuildParameters
        {
            Tags = [tag],
            Labels = labels.ToDictionary(),
            Remove = true,
            ForceRemove = true,
        }, context, null, null, progress, ct)).ConfigureAwait(false);
        if (progress.Errors is { } errors) throw new EngineRequestException("build image " + tag, errors, conflict: false);
    }

    public Task CreateNetworkAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) =>
        Call("create network " + name, () => _client.Networks.CreateNetworkAsync(new NetworksCreateParameters
        {
            Name = name,
            Driver = "bridge",
            Labels = labels.ToDictionary(),
        }, ct));

    public Task<bool> RemoveNetworkAsync(string name, CancellationToken ct) =>
        CallOrMissing("remove network " + name, async () =>
        {
            await _client.Networks.DeleteNetworkAsync(name, ct).ConfigureAwait(false);
            return true;
        }, false);

    public async Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct)
    {
        var host = new HostConfig
        {
            NetworkMode = spec.Network,
            RestartPolicy = new RestartPolicy { Name = spec.RestartPolicy == "unless-stopped" ? RestartPolicyKind.UnlessStopped : RestartPolicyKind.No },
            Links = spec.Links.ToList(),
        };
        var parameters = new CreateContainerParameters
        {
            Name = spec.Name,
            Image = spec.Image,
            Labels = spec.Labels.ToDictionary(),
            Env = spec.Environment.Select(e => $"{e.Key}={e.Value}").ToList(),
            HostConfig = host,
        };
        if (spec.Publish is { } p)
        {
            var port = $"{p.ContainerPort}/tcp";
            parameters.ExposedPorts = new Dictionary<string, EmptyStruct> { [port] = default };
            host.PortBindings = new Dictionary<string, IList<Docker.DotNet.Models.PortBinding>>
            {
                [port] = [new Docker.DotNet.Models.PortBinding { HostIP = p.HostAddress, HostPort = p.HostPort.ToString(System.Globalization.CultureInfo.InvariantCulture) }],
            };
        }
        var response = await Call("create container " + spec.Name, () => _client.Containers.CreateContainerAsync(parameters, ct)).ConfigureAwait(false);
        return response.ID;
    }

    public Task StartContainerAsync(string name, CancellationToken ct) =>
        Call("start container " + name, () => _client.Containers.StartContainerAsync(name, new ContainerStartParameters(), ct));

    public Task RenameContainerAsync(string name, string newName, CancellationToken ct) =>
        Call($"rename container {name} to {newName}", () => _client.Containers.RenameContainerAsync(name, new ContainerRenameParameters { NewName = newName }, ct));

    public Task StopContainerAsync(string name, TimeSpan timeout, CancellationToken ct) =>
        CallOrMissing("stop container " + name, async () =>
        {
            await _client.Containers.StopContainerAsync(name, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)timeout.TotalSeconds }, ct).ConfigureAwait(false);
            return true;
        }, false);

    public Task<bool> RemoveContainerAsync(string name, CancellationToken ct) =>
        CallOrMissing("remove container " + name, async () =>
        {
            await _client.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true }, ct).ConfigureAwait(false);
            return true;
        }, false);

    public Task<ContainerStatus?> InspectContainerAsync(string name, string network, CancellationToken ct) =>
        CallOrMissing<ContainerStatus?>("inspect container " + name, async () =>
        {
            var c = await _client.Containers.InspectContainerAsync(name, ct).ConfigureAwait(false);
            string? ip = null;
            if (c.NetworkSettings?.Networks is { } nets && nets.TryGetValue(network, out var endpoint) && !string.IsNullOrEmpty(endpoint.IPAddress))
                ip = endpoint.IPAddress;
            return new ContainerStatus(c.ID, c.State?.Running ?? false, c.State?.Status ?? "unknown", c.State?.ExitCode ?? 0, ip, (int)c.RestartCount);
        }, null);

    public async Task<string> GetLogsAsync(string name, int tail, CancellationToken ct)
    {
        try
        {
            using var stream = await _client.Containers.GetContainerLogsAsync(name, new ContainerLogsParameters
            {
                ShowStdout = true,
                ShowStderr = true,
                Tail = tail.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, ct).ConfigureAwait(false);
            var (stdout, stderr) = await stream.ReadOutputToEndAsync(ct).ConfigureAwait(false);
            return (stdout + stderr).TrimEnd();
        }
        catch (DockerApiException) { return "(no logs available)"; }
    }

    public async Task FollowLogsAsync(string name, Action<string> onLine, CancellationToken ct)
    {
        using var stream = await Call("follow logs of " + name, () => _client.Containers.GetContainerLogsAsync(name, new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Follow = true,
            Tail = "all",
        }, ct)).ConfigureAwait(false);
        var buffer = new byte[8192];
        var pending = new StringBuilder();
        while (!ct.IsCancellationRequested)
        {
            var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, ct).ConfigureAwait(false);
            if (read.EOF) break;
            pending.Append(Encoding.UTF8.GetString(buffer, 0, read.Count));
            var text = pending.ToString();
            var last = text.LastIndexOf('\n');
            if (last < 0) continue;
            foreach (var line in text[..last].Split('\n')) onLine(line.TrimEnd('\r'));
            pending.Clear().Append(text[(last + 1)..]);
        }
        if (pending.Length > 0) onLine(pending.ToString());
    }

    public async Task<(long ExitCode, string Output)> ExecAsync(string name, IReadOnlyList<string> command, CancellationToken ct)
    {
        var exec = await Call("exec in " + name, () => _client.Exec.CreateContainerExecAsync(name, new ContainerExecCreateParameters
        {
            Cmd = command.ToList(),
            AttachStdout = true,
            AttachStderr = true,
        }, ct)).ConfigureAwait(false);
        using var stream = await Call("exec in " + name, () => _client.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), ct)).ConfigureAwait(false);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(ct).ConfigureAwait(false);
        var inspect = await Call("exec in " + name, () => _client.Exec.InspectContainerExecAsync(exec.ID, ct)).ConfigureAwait(false);
        return (inspect.ExitCode ?? -1, (stdout + stderr).Trim());
    }

    public async Task WriteFileAsync(string name, string path, string content, CancellationToken ct)
    {
        var dir = Path.GetDirectoryName(path)!.Replace('\\', '/');
        using var tar = Proxy.ProxyBuildContext.CreateSingleFileTar(Path.GetFileName(path), content);
        await Call("copy to " + name, () => _client.Containers.ExtractArchiveToContainerAsync(name, new CopyToContainerParameters { Path = dir }, tar, ct)).ConfigureAwait(false);
    }

    public Task<string?> ReadFileAsync(string name, string path, CancellationToken ct) =>
        CallOrMissing("read file from " + name, async () =>
        {
            var response = await _client.Containers.GetArchiveFromContainerAsync(name, new ContainerPathStatParameters { Path = path }, false, ct).ConfigureAwait(false);
            if (response.Stream is null) return null;
            await using var stream = response.Stream;
            using var reader = new System.Formats.Tar.TarReader(stream);
            var entry = await reader.GetNextEntryAsync(copyData: true, ct).ConfigureAwait(false);
            if (entry?.DataStream is null) return null;
            using var text = new StreamReader(entry.DataStream, Encoding.UTF8);
            return (string?)await text.ReadToEndAsync(ct).ConfigureAwait(false);
        }, null);

    /// <summary>Like <see cref="Call{T}"/>, but "not found" (no such container, image, network or file) is an answer, not an error.</summary>
    private async Task<T> CallOrMissing<T>(string operation, Func<Task<T>> call, T whenMissing)
    {
        try { return await call().ConfigureAwait(false); }
        catch (Exception e) when (e is DockerContainerNotFoundException or DockerImageNotFoundException
                                  || e is DockerApiException { StatusCode: HttpStatusCode.NotFound }) { return whenMissing; }
        catch (DockerApiException e) { throw Refused(operation, e); }
        catch (Exception e) when (e is not OperationCanceledException and not EngineRequestException) { throw Unavailable(e); }
    }

    private async Task Call(string operation, Func<Task> call)
    {
        try { await call().ConfigureAwait(false); }
        catch (DockerApiException e) { throw Refused(operation, e); }
        catch (Exception e) when (e is not OperationCanceledException and not EngineRequestException) { throw Unavailable(e); }
    }

    private async Task<T> Call<T>(string operation, Func<Task<T>> call)
    {
        try { return await call().ConfigureAwait(false); }
        catch (DockerApiException e) { throw Refused(operation, e); }
        catch (Exception e) when (e is not OperationCanceledException and not EngineRequestException) { throw Unavailable(e); }
    }

    private static EngineRequestException Refused(string operation, DockerApiException e) =>
        new(operation, ExtractMessage(e.ResponseBody) ?? e.Message, e.StatusCode == HttpStatusCode.Conflict, e);

    private EngineUnavailableException Unavailable(Exception e) => new(Endpoint, Describe(e), e);

    private static string Describe(Exception e) => e switch
    {
        HttpRequestException { InnerException: SocketException s } => s.Message,
        SocketException s => s.Message,
        _ when e.InnerException is { } inner => Describe(inner),
        _ => e.Message,
    };

    private static string? ExtractMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("message", out var m) ? m.GetString() : body.Trim();
        }
        catch (System.Text.Json.JsonException) { return body.Trim(); }
    }

    /// <summary>Collects the error lines of a pull or build stream synchronously (Progress&lt;T&gt; would post them later).</summary>
    private sealed class ErrorCollector : IProgress<JSONMessage>
    {
        private readonly StringBuilder _errors = new();
        public string? Errors => _errors.Length == 0 ? null : _errors.ToString().Trim();
        public void Report(JSONMessage value)
        {
            if (value.Error is { Message.Length: > 0 }) lock (_errors) _errors.AppendLine(value.Error.Message);
        }
    }
}
