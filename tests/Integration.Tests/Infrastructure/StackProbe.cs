using Docker.DotNet;
using Docker.DotNet.Models;

namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// What the tests see of the engine: resources by label, and cleanup by label. Uses Docker.DotNet directly so that the tests
/// observe the engine independently of the code under test.
/// </summary>
public sealed partial class StackProbe : IDisposable
{
    public const string StackLabel = "proxystack.stack";
    private readonly DockerClient _client;

    /// <param name="endpoint">The engine to observe ("unix:///run/podman/podman.sock"); the default engine when null.</param>
    public StackProbe(string? endpoint = null) =>
        _client = (endpoint is null ? new DockerClientBuilder() : new DockerClientBuilder().WithEndpoint(new Uri(endpoint))).Build();

    public void Dispose() => _client.Dispose();

    public DockerClient Client => _client;

    private static Dictionary<string, IDictionary<string, bool>> Label(string stack) =>
        new() { ["label"] = new Dictionary<string, bool> { [$"{StackLabel}={stack}"] = true } };

    public async Task<IList<ContainerListResponse>> ContainersAsync(string stack) =>
        await _client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = Label(stack) });

    public async Task<IList<NetworkResponse>> NetworksAsync(string stack) =>
        await _client.Networks.ListNetworksAsync(new NetworksListParameters { Filters = Label(stack) });

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for a stack that something else removes (the reaper, after its `dotnet run`
    /// has gone) to have no container and no network left: the network goes after the last container, so waiting for the
    /// containers alone and then asserting the network raced (seen on a busy 2-core run).
    /// </summary>
    public async Task WaitUntilGoneAsync(string stack, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (((await ContainersAsync(stack)).Count > 0 || (await NetworksAsync(stack)).Count > 0) && DateTime.UtcNow < deadline)
            await Task.Delay(500);
    }

    /// <summary>Images built for the stack: they carry proxystack.image-of (never the ownership label, see StackLabels).</summary>
    public async Task<IList<ImagesListResponse>> ImagesAsync(string stack) =>
        await _client.Images.ListImagesAsync(new ImagesListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"proxystack.image-of={stack}"] = true } },
        });

    public async Task<ContainerInspectResponse> InspectAsync(string name) => await _client.Containers.InspectContainerAsync(name);

    /// <summary>Every container id of the stack by name, with its start time.</summary>
    public async Task<Dictionary<string, (string Id, DateTime Started)>> SnapshotAsync(string stack)
    {
        var result = new Dictionary<string, (string, DateTime)>();
        foreach (var c in await ContainersAsync(stack))
        {
            // A container the stack removes between the listing and this inspection (a replica retiring after a redeploy
            // that is still finishing, as under dotnet watch) is gone, not an error.
            ContainerInspectResponse inspect;
            try { inspect = await InspectAsync(c.ID); }
            catch (DockerContainerNotFoundException) { continue; }
            result[c.Names[0].TrimStart('/')] = (c.ID, DateTime.Parse(inspect.State.StartedAt, null, System.Globalization.DateTimeStyles.RoundtripKind));
        }
        return result;
    }

    /// <summary>A container's output so far (stdout and stderr).</summary>
    public async Task<string> LogsAsync(string name)
    {
        using var stream = await _client.Containers.GetContainerLogsAsync(name, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true });
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(CancellationToken.None);
        return stdout + stderr;
    }

    /// <summary>
    /// For a failure message about requests under load: what the stack's proxy logged about the ones that failed — access-log
    /// lines with a status other than 2xx (with the upstream addresses nginx tried) and nginx's own warnings and errors (a
    /// refused connection, no live upstreams) — the first <paramref name="most"/> of them.
    /// </summary>
    public async Task<IEnumerable<string>> ProxyTroubleAsync(string stack, int most = 20)
    {
        string logs;
        try { logs = await LogsAsync($"{stack}-proxy"); }
        catch (DockerContainerNotFoundException) { return ["proxy: gone"]; }
        var trouble = logs.Split('\n').Where(l => FailedRequest().IsMatch(l) || l.Contains(" [warn] ") || l.Contains(" [error] ") || l.Contains(" [crit] ")).ToList();
        return trouble.Count == 0 ? ["proxy: no failed request or error in its log"] : trouble.Take(most).Prepend($"proxy: {trouble.Count} line(s) of trouble, the first {Math.Min(most, trouble.Count)}:");
    }

    /// <summary>
    /// An access-log line (NginxConfigWriter's format: the request in quotes, then the status) whose status is neither 2xx nor
    /// 499 — nginx's note of a client that closed first, never an answer: what a load generator's stop leaves at each phase's end.
    /// </summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"HTTP/[\d.]+"" (?!2\d\d|499)\d\d\d ")]
    private static partial System.Text.RegularExpressions.Regex FailedRequest();

    /// <summary>Volumes labelled with the stack (its key ring).</summary>
    public async Task<IList<VolumeResponse>> VolumesAsync(string stack) =>
        (await _client.Volumes.ListAsync(new VolumesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"proxystack.stack={stack}"] = true } },
        })).Volumes ?? [];

    /// <summary>
    /// Removes every container, network, volume and image labelled with the stack. Used in finally blocks; never throws.
    /// Returns the containers, networks and volumes it had to remove (images are not counted: StackDown keeps them on purpose;
    /// the tests' own teardown removes volumes, so one left here was missed).
    /// </summary>
    /// <summary>
    /// Removes what carries compose's project label <paramref name="project"/> (containers, networks, volumes): the safety net
    /// after a test ran a written compose file. Returns what it had to remove.
    /// </summary>
    public async Task<List<string>> CleanComposeProjectAsync(string project)
    {
        var removed = new List<string>();
        var filter = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={project}"] = true } };
        foreach (var c in await _client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = filter }))
        {
            await _client.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true });
            removed.Add("container " + c.Names.FirstOrDefault()?.TrimStart('/'));
        }
        foreach (var n in await _client.Networks.ListNetworksAsync(new NetworksListParameters { Filters = filter }))
        {
            await _client.Networks.DeleteNetworkAsync(n.ID);
            removed.Add("network " + n.Name);
        }
        foreach (var v in (await _client.Volumes.ListAsync(new VolumesListParameters { Filters = filter })).Volumes ?? [])
        {
            await _client.Volumes.RemoveAsync(v.Name, force: true);
            removed.Add("volume " + v.Name);
        }
        return removed;
    }

    public async Task<List<string>> CleanAsync(string stack)
    {
        var removed = new List<string>();
        try
        {
            foreach (var c in await ContainersAsync(stack))
            {
                await _client.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true });
                removed.Add("container " + c.Names.FirstOrDefault()?.TrimStart('/'));
            }
            foreach (var n in await NetworksAsync(stack))
            {
                await _client.Networks.DeleteNetworkAsync(n.ID);
                removed.Add("network " + n.Name);
            }
            foreach (var v in await VolumesAsync(stack))
            {
                await _client.Volumes.RemoveAsync(v.Name, force: true);
                removed.Add("volume " + v.Name);
            }
            foreach (var i in await ImagesAsync(stack))
                foreach (var tag in i.RepoTags?.Where(t => t != "<none>:<none>").DefaultIfEmpty(i.ID) ?? [i.ID])
                    try { await _client.Images.DeleteImageAsync(tag, new ImageDeleteParameters { Force = true }); }
                    catch (DockerApiException) { }
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException)
        {
            removed.Add($"cleanup of {stack} failed: {e.Message}");
        }
        return removed;
    }
}
