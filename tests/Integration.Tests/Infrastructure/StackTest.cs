namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>
/// Base of tests that bring up a stack: a unique stack name and a free loopback port per test, and cleanup by label of that
/// stack (and of any other stack the test names) when the test ends, whether it passed or failed.
/// </summary>
public abstract class StackTest : IDisposable
{
    private StackProbe? _probe;
    /// <summary>The test's view of <see cref="EngineEndpoint"/>'s engine.</summary>
    protected StackProbe Probe => _probe ??= new(EngineEndpoint);
    /// <summary>The engine the test's stacks live on, for the probe and the teardown: the default engine when null.</summary>
    protected virtual string? EngineEndpoint => null;
    protected string Stack { get; } = Ports.NewStackName();
    /// <summary>The proxy's port, the first of four free ones: host networking publishes three replicas on the ports after it.</summary>
    protected int Port { get; } = Ports.FreeRun(4);
    /// <summary>The properties that make a build the test's own stack on its own port, with <paramref name="replicas"/> replicas and <paramref name="more"/>.</summary>
    /// <summary>
    /// The report of a load that saw failures, with what this stack's proxy logged about them first (their status, the replicas
    /// nginx tried, its warnings): read only when a test is about to fail.
    /// </summary>
    private protected async Task<string> FailedLoadReportAsync(StrictLoad load) => load.Report(await Probe.ProxyTroubleAsync(Stack));

    protected Dictionary<string, string> StackProps(int replicas, params (string Key, string Value)[] more)
    {
        var props = new Dictionary<string, string> { ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = replicas.ToString() };
        foreach (var (key, value) in more) props[key] = value;
        return props;
    }

    /// <summary>StackUp of <paramref name="sample"/>, which must succeed.</summary>
    protected static async Task<ProcessResult> UpAsync(SampleCopy sample, IDictionary<string, string> props)
    {
        var result = await sample.BuildAsync("StackUp", props);
        Xunit.Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    /// <summary>Other stacks the test brought up; cleaned up too.</summary>
    protected List<string> OtherStacks { get; } = [];
    private readonly List<string> _tempFolders = [];

    /// <summary>A new temp folder of the test's own, removed when the test ends.</summary>
    protected string TempFolder(string prefix)
    {
        var path = Directory.CreateTempSubdirectory(prefix).FullName;
        _tempFolders.Add(path);
        return path;
    }

    /// <summary>
    /// Ends every test with ProxyStack's own teardown (what StackDown and the end of `dotnet run` run), then the safety net.
    /// The safety net removing a container, network or volume means ProxyStack's teardown missed it: the test fails, naming it.
    /// (Images are left by StackDown on purpose, so the net removes them silently.)
    /// </summary>
    public void Dispose()
    {
        var missed = new List<string>();
        foreach (var stack in OtherStacks.Append(Stack))
        {
            try
            {
                using var engine = new ProxyStack.Engine.DockerEngine(EngineEndpoint);
                // With the stack's volumes: a test leaves nothing, and its key ring goes with it.
                var (_, failures) = ProxyStack.Execution.StackTeardown.RunAsync(engine, new NullStackLog(), stack, owner: null, projectFile: "", CancellationToken.None, removeVolumes: true).GetAwaiter().GetResult();
                missed.AddRange(failures.Select(f => f.Format()));
            }
            catch (Exception e) when (e is ProxyStack.Engine.EngineUnavailableException or ProxyStack.Engine.EngineRequestException)
            {
                missed.Add($"teardown of {stack} failed: {e.Message}");
            }
            missed.AddRange(Probe.CleanAsync(stack).GetAwaiter().GetResult());
        }
        Probe.Dispose();
        foreach (var folder in _tempFolders)
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        DisposeMore();
        GC.SuppressFinalize(this);
        if (missed.Count > 0) throw new Xunit.Sdk.XunitException("ProxyStack's teardown left behind: " + string.Join("; ", missed));
    }

    /// <summary>
    /// The core scenarios' redeploy: a rolling one (REDEPLOY_ROUND, a StackEnvironment item the sample was given, changes)
    /// and a scale from 3 to 2, under load from a client that never retries (wrk and slow POSTs), which must see no failure.
    /// </summary>
    /// <param name="props">The stack's properties for a replica count and a redeploy round.</param>
    /// <param name="slotsByAlias">The engine's DNS keeps join-time names (Podman), so nginx routes by address there and each
    /// change is a graceful reload, at which nginx's old workers close their idle client connections: wrk, which opens its
    /// next connection at once and writes on it only when its pace says so, then reads nothing on each of them (a read error;
    /// a browser or HttpClient sends the request again on a new connection). Allowed there: at most one read error per wrk
    /// connection per reload the two StackUps report, and nothing else — no non-2xx, no connect, write or timeout error, no
    /// failed POST (how-it-works.md, "On Podman").</param>
    protected async Task RedeployAndScaleToTwoUnderLoadAsync(SampleCopy sample, Func<int, int, Dictionary<string, string>> props,
        Dictionary<string, string> env, Xunit.Abstractions.ITestOutputHelper output, bool slotsByAlias = false)
    {
        var load = new StrictLoad($"http://127.0.0.1:{Port}", pacedRate: StrictLoad.BesideAChange);
        await using (load)
        {
            await Task.Delay(2000);
            load.Mark("redeploy");
            var redeploy = await sample.BuildAsync("StackUp", props(3, 1), env);
            Xunit.Assert.True(redeploy.ExitCode == 0, redeploy.ToString());
            Xunit.Assert.Contains("retire", redeploy.Output);
            load.Mark("scale");
            var scaled = await sample.BuildAsync("StackUp", props(2, 1), env);
            Xunit.Assert.True(scaled.ExitCode == 0, scaled.ToString());
            load.Mark("settle");
            await Task.Delay(2000);
            var wrk = await load.StopAsync();
            // What nginx said about requests that went wrong (its warn-level log), for the diagnosis of a failure: each kind of
            // complaint once with its count and first occurrence, POSTs first, ahead of the load's own report.
            var problems = (await Probe.LogsAsync($"{Stack}-proxy")).Split('\n')
                .Where(l => l.Contains("[warn]", StringComparison.Ordinal) || l.Contains("[error]", StringComparison.Ordinal))
                .GroupBy(l => System.Text.RegularExpressions.Regex.Replace(l, @"^\S+ \S+ |\*\d+ |\d+#\d+: |client: [^,]+, |upstream: ""[^""]*"", ", ""))
                .OrderBy(g => g.Key.Contains("\"POST ", StringComparison.Ordinal) ? 0 : 1)
                .Select(g => $"nginx ×{g.Count()}: {g.First()}").Take(12);
            // And where every container of the stack is now, to set beside the addresses nginx named.
            var containers = (await Probe.ContainersAsync(Stack)).Select(c => $"{c.Names.FirstOrDefault()?.TrimStart('/')} {c.State} "
                + string.Join(",", c.NetworkSettings?.Networks?.Values.Select(n => n.IPAddress) ?? []));
            var report = load.Report([.. problems, "containers: " + string.Join("; ", containers)]);
            output.WriteLine(report);
            var closedAtReload = slotsByAlias ? Reloads(redeploy.Output) + Reloads(scaled.Output) : 0;
            Xunit.Assert.True(wrk.Non2xx == 0 && wrk.SocketErrors == wrk.ReadErrors && wrk.ReadErrors <= closedAtReload * StrictLoad.Connections,
                $"reloads under the load: {closedAtReload}\n{report}");
            Xunit.Assert.True(load.PostFailures.Count == 0, report);
            Xunit.Assert.True(wrk.Requests >= 1000 && load.Posts >= 5, report);
        }
    }

    /// <summary>How many times a StackUp reloaded the proxy (its progress line per reload).</summary>
    private int Reloads(string output) => System.Text.RegularExpressions.Regex.Matches(output, $@"proxy {System.Text.RegularExpressions.Regex.Escape(Stack)}-proxy reloaded \(").Count;

    /// <summary>Cleanup beyond the engine (files, folders).</summary>
    protected virtual void DisposeMore() { }
}
