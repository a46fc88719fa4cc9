using ProxyStack.Engine;
using ProxyStack.Execution;
using ProxyStack.Model;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>How often replicas are asked while they start (their probes reach servers of this process, the engine is a fake).</summary>
public sealed class ReadinessWaiterTests
{
    [Fact]
    public void This_machines_addresses_are_read_again_when_an_interface_changes_under_the_read()
    {
        // .NET's Linux enumeration throws this while a veth comes or goes (dotnet/runtime#49515); a readiness wait once failed on it.
        var reads = 0;
        IEnumerable<string> Flaky() => ++reads < 3 ? throw new ArgumentException("An invalid IP address was specified.", "address") : ["127.0.0.1", "172.17.0.1"];
        Assert.Equal(["127.0.0.1", "172.17.0.1"], MachineAddresses.Read(Flaky).Order());
        Assert.Equal(3, reads);
        // Never readable: no address, so every replica is asked through the relay — never an exception out of the wait.
        Assert.Empty(MachineAddresses.Read(() => ++reads > 0 ? throw new ArgumentException("An invalid IP address was specified.", "address") : []));
        Assert.Equal(3 + MachineAddresses.Attempts, reads);
        Assert.Contains("127.0.0.1", MachineAddresses.Read());
    }

    [Fact]
    public void Addresses_are_kept_and_read_again_for_a_bridge_made_since_and_a_foreign_one_only_now_and_then()
    {
        long now = 0;
        var reads = 0;
        HashSet<string> machine = ["127.0.0.1", "172.18.0.1"];
        var cache = new MachineAddresses.Cache(() => { reads++; return [.. machine]; }, () => now);
        Assert.True(cache.Contains("172.18.0.1"));
        Assert.True(cache.Contains("127.0.0.1"));
        Assert.Equal(1, reads);
        // A stack network made since the read: its bridge's gateway is found by reading again.
        machine.Add("172.19.0.1");
        Assert.True(cache.Contains("172.19.0.1"));
        Assert.Equal(2, reads);
        // An engine in a VM: its gateway is no address of this machine. Read for once, then not again for a while.
        Assert.False(cache.Contains("192.168.65.1"));
        Assert.False(cache.Contains("192.168.65.1"));
        now += 5_000;
        Assert.False(cache.Contains("192.168.65.1"));
        Assert.Equal(3, reads);
        now += (long)MachineAddresses.Cache.RetryAfter.TotalMilliseconds;
        Assert.False(cache.Contains("192.168.65.1"));
        Assert.Equal(4, reads);
        // A read that found nothing at all (every attempt failed) is no lasting verdict either.
        var empty = new MachineAddresses.Cache(() => { reads++; return reads > 5 ? ["172.18.0.1"] : []; }, () => now);
        Assert.False(empty.Contains("172.18.0.1"));
        now += (long)MachineAddresses.Cache.RetryAfter.TotalMilliseconds;
        Assert.True(empty.Contains("172.18.0.1"));
    }

    [Theory]
    // What Kestrel prints, in the simple console format and the JSON one, and whether nginx reaches it on port 8080.
    [InlineData("info: Microsoft.Hosting.Lifetime[14]\n      Now listening on: http://[::]:8080\ninfo: Microsoft.Hosting.Lifetime[0]\n      Application started. Press Ctrl+C to shut down.", true)]
    [InlineData("      Now listening on: http://localhost:5000\n      Application started. Press Ctrl+C to shut down.", false)]
    [InlineData("      Now listening on: http://127.0.0.1:8080\n      Application started.", false)]
    [InlineData("      Now listening on: http://localhost:8080\n      Application started.", false)]
    [InlineData("      Now listening on: https://[::]:8080\n      Application started.", false)]
    [InlineData("      Now listening on: http://0.0.0.0:8080\n      Application started.", true)]
    [InlineData("      Now listening on: http://+:8080\n      Application started.", true)]
    [InlineData("      Now listening on: http://172.18.0.5:8080\n      Application started.", true)]
    [InlineData("      Now listening on: http://localhost:5000\n      Now listening on: http://[::]:8080\n      Application started.", true)]
    [InlineData("{\"EventId\":14,\"LogLevel\":\"Information\",\"Category\":\"Microsoft.Hosting.Lifetime\",\"Message\":\"Now listening on: http://localhost:5000\",\"State\":{}}\n{\"Message\":\"Application started. Press Ctrl\\u002BC to shut down.\"}", false)]
    [InlineData("{\"Message\":\"Now listening on: http://[::]:8080\",\"State\":{}}\n{\"Message\":\"Application started.\"}", true)]
    public void Where_an_app_says_it_listens_decides_whether_nginx_can_reach_it(string logs, bool reachable)
    {
        Assert.Equal(reachable, KestrelAddresses.Unreachable(logs, 8080) is null);
        Assert.NotEmpty(KestrelAddresses.Read(logs).Urls);
    }

    [Fact]
    public void An_app_that_has_not_said_where_it_listens_or_not_yet_started_is_waited_for()
    {
        Assert.Null(KestrelAddresses.Unreachable("Starting up\nwarn: migrations pending", 8080));
        // Bound, but not yet said that it started: more addresses may follow.
        Assert.Null(KestrelAddresses.Unreachable("      Now listening on: http://localhost:5000", 8080));
        Assert.Equal(["http://localhost:5000"], KestrelAddresses.Unreachable("      Now listening on: http://localhost:5000/\n      Application started.", 8080));
        Assert.Equal(5000, KestrelAddresses.OpenPort(["http://localhost:4000", "http://[::]:5000"]));
        Assert.Null(KestrelAddresses.OpenPort(["http://localhost:5000"]));
    }

    /// <summary>
    /// A replica whose app started listening only on loopback fails soon after its start (STACK4023 from the executor), not at
    /// StackReadyTimeout; asked where nothing listens and its output names no address, it is waited for as before.
    /// </summary>
    [Fact]
    public async Task A_replica_listening_only_where_nginx_cannot_reach_fails_within_seconds_not_at_the_timeout()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Containers["hello-app-1"] = ("a1", [], true);
        engine.Logs["hello-app-1"] = "      Now listening on: http://localhost:5000\n      Application started. Press Ctrl+C to shut down.";
        var waiter = new ReadinessWaiter(engine, new CapturingStackLog());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<AppListensElsewhereException>(() =>
            waiter.WaitForReplicaAsync("hello-app-1", "hello-net", null, port, new HealthProbe("/", Strict: false), TimeSpan.FromSeconds(30), CancellationToken.None, app: true));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"failed after {clock.Elapsed}");
        Assert.Equal(["http://localhost:5000"], e.Urls);
        Assert.Equal(port, e.Port);

        // Not an app (a backing container's http: rule), or an app that says nothing of its addresses: the timeout decides.
        engine.Logs["hello-app-1"] = "starting";
        await Assert.ThrowsAsync<ReadinessTimeoutException>(() =>
            waiter.WaitForReplicaAsync("hello-app-1", "hello-net", null, port, new HealthProbe("/", Strict: false), TimeSpan.FromSeconds(3), CancellationToken.None, app: true));
    }

    /// <summary>
    /// A background service (a StackProject without Route) is asked nothing over HTTP: it is ready once its output says its host
    /// started, and not before, however long it runs; one that exits while starting fails at once with its output.
    /// </summary>
    [Fact]
    public async Task A_background_service_is_ready_once_its_host_says_Application_started_and_never_asked_over_HTTP()
    {
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Containers["hello-worker-1"] = ("w1", [], true);
        engine.Logs["hello-worker-1"] = "info: Microsoft.Hosting.Lifetime[0]\n      Hosting environment: Production";
        var waiter = new ReadinessWaiter(engine, new CapturingStackLog());
        var timeout = await Assert.ThrowsAsync<ReadinessTimeoutException>(() =>
            waiter.WaitForReplicaAsync("hello-worker-1", "hello-net", null, 8080, HealthProbe.BackgroundService, TimeSpan.FromSeconds(1), CancellationToken.None, app: true));
        Assert.StartsWith("no \"Application started.\" in its output yet", timeout.LastResult);

        engine.Logs["hello-worker-1"] += "\ninfo: Microsoft.Hosting.Lifetime[0]\n      Application started. Press Ctrl+C to shut down.";
        await waiter.WaitForReplicaAsync("hello-worker-1", "hello-net", null, 8080, HealthProbe.BackgroundService, TimeSpan.FromSeconds(5), CancellationToken.None, app: true);
        Assert.Null(await waiter.ProbeReplicaOnceAsync("hello-worker-1", "hello-net", null, 8080, HealthProbe.BackgroundService, CancellationToken.None));

        engine.Containers["hello-worker-1"] = ("w1", [], false);
        await Assert.ThrowsAsync<ContainerExitedException>(() =>
            waiter.WaitForReplicaAsync("hello-worker-1", "hello-net", null, 8080, HealthProbe.BackgroundService, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal("not running", await waiter.ProbeReplicaOnceAsync("hello-worker-1", "hello-net", null, 8080, HealthProbe.BackgroundService, CancellationToken.None));
        Assert.Equal("\"Application started.\" in its output", HealthProbe.BackgroundService.ToString());
    }

    [Fact]
    public void A_replica_awaited_alone_is_asked_every_50_ms_and_many_together_about_20_times_a_second_in_all()
    {
        Assert.Equal([50, 50, 100, 150, 200, 200, 200], new[] { 0, 1, 2, 3, 4, 5, 16 }.Select(n => ReadinessWaiter.ReplicaInterval(n).TotalMilliseconds));
    }

    [Fact]
    public async Task Replica_waits_count_themselves_while_under_way_so_the_last_one_left_is_asked_every_50_ms()
    {
        // When the last replica is asked, by the clock of this test: the shortest gap between two askings shows the pause.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var askedAt = new System.Collections.Concurrent.ConcurrentQueue<TimeSpan>();
        using var first = new OkServer("503 Service Unavailable");
        using var last = new OkServer("503 Service Unavailable", byPath: _ => { askedAt.Enqueue(clock.Elapsed); return null; });
        var engine = new FakeEngine();
        engine.Containers["hello-app-1"] = ("a1", [], true);
        engine.Containers["hello-app-2"] = ("a2", [], true);
        var waiter = new ReadinessWaiter(engine, new CapturingStackLog());
        var health = new HealthProbe("/", Strict: false);
        Task Wait(string name, OkServer server) =>
            waiter.WaitForReplicaAsync(name, "hello-net", "127.0.0.1", server.Port, health, TimeSpan.FromSeconds(30), CancellationToken.None);

        var one = Wait("hello-app-1", first);
        var two = Wait("hello-app-2", last);
        Assert.Equal(2, waiter.ReplicasAwaited);
        first.Status = "200 OK";
        await one;
        Assert.Equal(1, waiter.ReplicasAwaited);

        // Alone now: the pause is 50 ms, so two askings in a row can come well inside 150 ms; at the 200 ms of four or more
        // replicas at once no two can. The shortest of several gaps, since a busy machine only ever lengthens one.
        var alone = clock.Elapsed;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (askedAt.Count(t => t > alone) < 8 && DateTime.UtcNow < deadline) await Task.Delay(50);
        var times = askedAt.Where(t => t > alone).ToList();
        last.Status = "200 OK";
        await two;
        Assert.True(times.Count >= 8, $"asked {times.Count} times in 20 s");
        var shortest = times.Zip(times.Skip(1), (a, b) => b - a).Min();
        Assert.True(shortest < TimeSpan.FromMilliseconds(150), $"asked again after {shortest.TotalMilliseconds:0} ms at the soonest");
        Assert.Equal(0, waiter.ReplicasAwaited);

        // A wait that fails (its container is gone) counts itself out too.
        await Assert.ThrowsAsync<ContainerExitedException>(() => Wait("hello-app-3", last));
        Assert.Equal(0, waiter.ReplicasAwaited);
    }
}
