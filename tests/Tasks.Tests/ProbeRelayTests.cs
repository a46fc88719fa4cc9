using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;
using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>
/// Readiness never assumes the host can route to container addresses: replicas are asked through a short-lived relay on the
/// stack's network, published on loopback. The real relay (nginx) is exercised by the integration tests under Docker
/// Desktop's topology; here the fake engine runs <see cref="FakeRelay"/>, which does what the relay's config says.
/// </summary>
public sealed class ProbeRelayTests : IDisposable
{
    private readonly TaskScratch _scratch = new();
    public void Dispose() => _scratch.Dispose();

    private static FakeEngine Engine()
    {
        var engine = new FakeEngine { Address = "127.0.0.1" };
        foreach (var (k, v) in Builders.Images()) engine.Images[k] = v;
        return engine;
    }

    /// <summary>The stack as a previous StackUp left it: both replicas and the proxy running, its network there.</summary>
    private static void Running(FakeEngine engine, StackModel model) => engine.Holding(Builders.Running(model, NginxConfigWriter.Write(model)));

    /// <summary>A first bring-up of one replica on the engine's own bridge (its gateway is this machine), listening on the port once the test serves it.</summary>
    private static (int Port, StackModel Model, FakeEngine Engine) OneReplicaOnOwnBridge(int readyTimeoutSeconds)
    {
        var port = Ports.Free();
        var engine = Engine();
        engine.Gateway = "127.0.0.1";
        return (port, Builders.Model(1) with { AppPort = port, HostPort = Ports.Free(), ReadyTimeoutSeconds = readyTimeoutSeconds }, engine);
    }

    /// <summary>
    /// Applies the model, which gets as far as the proxy's wait: the proxy's own probe goes to its published port, which
    /// nothing serves in a unit test, so its STACK4010 ends the run.
    /// </summary>
    private void EndsAtTheProxysProbe(StackModel model, FakeEngine engine)
    {
        Assert.False(_scratch.Apply(model, engine).Execute());
        Assert.Equal("STACK4010", Assert.Single(_scratch.Build.Errors).Code);
    }

    [Fact]
    public void Replicas_are_asked_through_a_relay_on_the_stack_network_which_is_removed_at_the_end()
    {
        using var replicas = new OkServer();
        var model = Builders.Model(2) with { AppPort = replicas.Port, HostPort = Ports.Free() };
        var engine = Engine();
        // The proxy's own probe goes to its published port, which nothing serves in a unit test: it is not part of this test.
        Assert.False(_scratch.Apply(model with { ReadyTimeoutSeconds = 1 }, engine).Execute());

        var relay = Assert.Single(engine.Specs.Values, s => s.Name.StartsWith(model.ProxyName + "-relay-", StringComparison.Ordinal));
        Assert.Equal(model.NetworkName, relay.Network);
        var publish = Assert.Single(relay.Publish);
        Assert.Equal(("127.0.0.1", 0, ProbeRelayConfig.ContainerPort), (publish.HostAddress, publish.HostPort, publish.ContainerPort));
        Assert.Equal("65534:65534", relay.User);
        Assert.Equal("no", relay.RestartPolicy);
        Assert.Equal(StackLabels.RoleProxy, relay.Labels[StackLabels.Role]);
        Assert.Equal(model.Name, relay.Labels[StackLabels.Stack]);
        Assert.Equal(model.Owner, relay.Labels[StackLabels.Owner]);
        var config = Assert.Single(relay.Files);
        Assert.Equal(UnixFileMode.UserRead, config.Mode);
        // Both replicas were asked through it, at their address on the network.
        Assert.Contains($"127.0.0.1:{replicas.Port} /", engine.Forwarded);
        Assert.Equal(2, engine.Forwarded.Count(f => f == $"127.0.0.1:{replicas.Port} /"));
        // Removed before the network the rollback removed: nothing is left.
        Assert.Empty(engine.Relays);
        Assert.Empty(engine.Containers);
        Assert.Empty(engine.Networks);
        Assert.Contains(engine.Calls, c => c.StartsWith("rm " + model.ProxyName + "-relay-", StringComparison.Ordinal));
    }

    [Fact]
    public void A_no_op_StackUp_asks_the_running_replicas_through_the_relay_and_leaves_only_the_stack()
    {
        using var replicas = new OkServer();
        var model = Builders.Model(2) with { AppPort = replicas.Port };
        var engine = Engine();
        Running(engine, model);

        Assert.True(_scratch.Apply(model, engine).Execute(), string.Join("\n", _scratch.Build.Errors.Select(e => e.Message)));
        Assert.Equal(2, engine.Forwarded.Count);
        Assert.Empty(engine.Relays);
        Assert.Equal(3, engine.Containers.Count);
    }

    [Fact]
    public void On_the_engines_own_bridge_a_replica_that_answers_directly_needs_no_relay()
    {
        // A Linux engine: the network's gateway is one of this machine's addresses (loopback stands in for the bridge here).
        using var replicas = new OkServer();
        var model = Builders.Model(2) with { AppPort = replicas.Port };
        var engine = Engine();
        engine.Gateway = "127.0.0.1";
        Running(engine, model);

        Assert.True(_scratch.Apply(model, engine).Execute(), string.Join("\n", _scratch.Build.Errors.Select(e => e.Message)));
        Assert.DoesNotContain(engine.Specs.Keys, n => n.Contains("-relay-", StringComparison.Ordinal));
        Assert.Equal(3, engine.Containers.Count);
    }

    [Fact]
    public void On_the_engines_own_bridge_a_replica_that_does_not_answer_directly_is_asked_through_the_relay()
    {
        // A firewall between this machine and its own bridge (the desktop-topology tests' REJECT rule): no direct answer.
        using var replicas = new OkServer();
        var model = Builders.Model(2) with { AppPort = replicas.Port };
        var engine = Engine();
        engine.Gateway = "127.0.0.1";
        engine.Address = "127.0.0.2"; // nothing listens there; the fake relay reaches the replicas on 127.0.0.1
        Running(engine, model);

        _scratch.Apply(model with { ReadyTimeoutSeconds = 1 }, engine).Execute();
        Assert.Contains(engine.Forwarded, f => f.StartsWith("127.0.0.2:", StringComparison.Ordinal));
        Assert.Empty(engine.Relays);
    }

    [Fact]
    public void On_the_engines_own_bridge_a_new_replica_is_asked_directly_while_the_relay_starts_and_the_relay_goes_once_it_answers()
    {
        // A first bring-up on a Linux engine: the replica is not listening at its first probe (no HTTP answer: unknown yet
        // whether a firewall is in the way), and still not after ProbeRelay.BackgroundStartDelay, so the relay is created;
        // it takes 5 s to start (an engine busy starting the replicas), and the replica listens from the relay's creation
        // on. It is ready on its next direct answer (waiting for the relay, as before, asked it through the relay 5 s
        // later), and the relay's start is stopped and its container removed.
        var (port, model, engine) = OneReplicaOnOwnBridge(readyTimeoutSeconds: 4);
        engine.RelayStartDelay = TimeSpan.FromSeconds(5);
        OkServer? late = null;
        engine.RelayCreated = () => late ??= new OkServer(port: port);
        try
        {
            EndsAtTheProxysProbe(model, engine);
            Assert.Contains(engine.Calls, c => c.StartsWith("start " + model.ProxyName + "-relay-", StringComparison.Ordinal));
            Assert.Contains(engine.Calls, c => c.StartsWith("rm " + model.ProxyName + "-relay-", StringComparison.Ordinal));
            Assert.Empty(engine.Forwarded);
            Assert.Empty(engine.Relays);
        }
        finally { late?.Dispose(); }
    }

    [Fact]
    public async Task A_relay_start_stopped_while_the_engine_still_creates_it_leaves_no_container()
    {
        // The relay's start begins after ProbeRelay.BackgroundStartDelay (2 s); its create takes the engine 3 s; the replica
        // listens from the create's beginning and answers directly, which stops the relay's start while the create is in
        // flight. An engine finishes a create whose request was abandoned, so a start that gave up on it at once and removed
        // the name before the container existed left a relay behind (a full run counted 5 containers of a 4-container
        // stack). The create is waited for, and the relay removed after it.
        var (port, model, engine) = OneReplicaOnOwnBridge(readyTimeoutSeconds: 10);
        engine.RelayCreateDelay = TimeSpan.FromSeconds(3);
        OkServer? late = null;
        engine.RelayCreating = () => late ??= new OkServer(port: port);
        try
        {
            EndsAtTheProxysProbe(model, engine);
            Task[] creates;
            lock (engine.LateCreates) creates = [.. engine.LateCreates];
            Assert.True(creates.Length == 1, $"{creates.Length} relay creates");
            await Task.WhenAll(creates);
            Assert.Empty(engine.Relays);
            Assert.DoesNotContain(engine.Containers.Keys, n => n.Contains("-relay-", StringComparison.Ordinal));
        }
        finally { late?.Dispose(); }
    }

    [Fact]
    public async Task On_the_engines_own_bridge_a_new_replica_that_listens_soon_is_asked_directly_and_no_relay_is_made()
    {
        // The usual first bring-up on a Linux engine: the replica listens half a second after its start, within the relay's
        // BackgroundStartDelay, so it is ready on a direct answer and no relay container is created at all.
        var (port, model, engine) = OneReplicaOnOwnBridge(readyTimeoutSeconds: 1);
        var listening = Task.Delay(500).ContinueWith(_ => new OkServer(port: port), TaskScheduler.Default);
        try
        {
            EndsAtTheProxysProbe(model, engine);
            Assert.Contains(engine.Calls, c => c.StartsWith("start hello-app-1", StringComparison.Ordinal));
            Assert.DoesNotContain(engine.Specs.Keys, n => n.Contains("-relay-", StringComparison.Ordinal));
        }
        finally { (await listening).Dispose(); }
    }

    [Fact]
    public void Once_a_replica_answered_directly_one_not_listening_yet_is_asked_directly_again_without_a_relay()
    {
        // The running replicas answer directly (the route is proven); the new third one never listens (nothing at 127.0.0.3):
        // it is asked directly until the timeout, and no relay is started for it.
        using var replicas = new OkServer();
        var running = Builders.Model(2) with { AppPort = replicas.Port };
        var engine = Engine();
        engine.Gateway = "127.0.0.1";
        Running(engine, running);
        engine.Addresses["hello-app-3"] = "127.0.0.3";

        Assert.False(_scratch.Apply(running with { Replicas = 3, ReadyTimeoutSeconds = 1 }, engine).Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK4004", error.Code);
        Assert.Contains("hello-app-3", error.Message);
        Assert.DoesNotContain(engine.Specs.Keys, n => n.Contains("-relay-", StringComparison.Ordinal));
    }

    [Fact]
    public void A_relay_that_cannot_start_is_STACK4018_and_the_running_stack_is_untouched()
    {
        using var replicas = new OkServer();
        var model = Builders.Model(2) with { AppPort = replicas.Port };
        var engine = Engine();
        engine.RelayCrashes = true;
        Running(engine, model);

        Assert.False(_scratch.Apply(model, engine).Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK4018", error.Code);
        // The whole message: which relay, from which image, what happened, what the engine must allow, its log lines.
        Assert.Matches(
            "^The probe relay 'hello-proxy-relay-[0-9a-f]{8}' \\(image proxystack/hello-proxy:latest\\) could not be started: "
            + "it exited with code 0\\. ProxyStack asks the replicas whether they are ready through this short-lived nginx on the stack's "
            + "network, published on the engine host's loopback; the engine must be able to run that image unprivileged and publish a "
            + "port on 127\\.0\\.0\\.1\\. Its last log lines:\n    \\| log of hello-proxy-relay-[0-9a-f]{8}\n    \\| Unhandled exception: boom\n$",
            error.Message);
        // Nothing but the relay itself was created, stopped or removed; the relay is gone.
        Assert.DoesNotContain(engine.Calls, c => (c.StartsWith("rm ") || c.StartsWith("stop ") || c.StartsWith("create ")) && !c.Contains("-relay-"));
        Assert.Empty(engine.Relays);
        Assert.Equal(3, engine.Containers.Count);
    }

    [Fact]
    public void Host_mode_asks_replicas_on_loopback_directly_without_a_relay()
    {
        using var replicas = new OkServer();
        var model = Builders.Model(1) with { NetworkMode = StackNetworkMode.Host.Name, AppPort = replicas.Port, HostPort = Ports.Free() };
        var engine = Engine();
        _scratch.Apply(model with { ReadyTimeoutSeconds = 1 }, engine).Execute();
        Assert.DoesNotContain(engine.Specs.Keys, n => n.Contains("-relay-", StringComparison.Ordinal));
        Assert.Empty(engine.Forwarded);
    }

    [Fact]
    public void The_relay_config_refuses_requests_without_the_token_and_forwards_only_to_an_address()
    {
        var config = ProbeRelayConfig.Write("0123ABCD");
        Assert.Contains("if ($http_x_proxystack_relay_token != \"0123ABCD\") { return 403; }", config);
        Assert.Contains("if ($http_x_proxystack_target !~ \"^[0-9a-fA-F.:\\[\\]]+:[0-9]+$\") { return 400; }", config);
        Assert.Contains("proxy_pass http://$http_x_proxystack_target;", config);
        Assert.Contains("grpc_pass grpc://$http_x_proxystack_target;", config);
        Assert.Contains("error_page 502 504 = @unreachable;", config);
        Assert.DoesNotContain("resolver", config);
    }
}
