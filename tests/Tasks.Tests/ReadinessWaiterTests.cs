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
    public void Addresses_are_kept_once_read_and_a_read_that_found_none_is_tried_again_after_a_while()
    {
        long now = 0;
        var reads = 0;
        HashSet<string> result = [];
        var cache = new MachineAddresses.Cache(() => { reads++; return result; }, () => now);
        Assert.Empty(cache.Value);
        now += 5_000;
        Assert.Empty(cache.Value);
        Assert.Equal(1, reads);
        result = ["127.0.0.1"];
        now += (long)MachineAddresses.Cache.RetryEmptyAfter.TotalMilliseconds;
        Assert.Equal(["127.0.0.1"], cache.Value);
        Assert.Equal(2, reads);
        // Once found, kept for the process's life.
        result = [];
        now += 3_600_000;
        Assert.Equal(["127.0.0.1"], cache.Value);
        Assert.Equal(2, reads);
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
