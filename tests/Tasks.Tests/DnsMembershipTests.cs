using ProxyStack.Execution;
using ProxyStack.IntegrationTests.Infrastructure;
using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>
/// DNS membership (bridge mode, nginx 1.27.3 or later): replicas join nginx's upstream by taking the member alias once every new
/// replica is ready, and leave by a graceful stop; the proxy reloads only when its config changes.
/// </summary>
public class DnsMembershipTests
{
    private static StackModel Model(int replicas = 3) => Builders.Model(replicas) with { NginxVersion = "1.30.6" };

    private static ObservedState Running(StackModel model) => Builders.Running(model, NginxConfigWriter.Write(model));

    private static void AssertPlan(string expected, ReconcileResult result) => Builders.AssertPlan(expected, result);

    [Fact]
    public void The_config_resolves_every_slot_name_and_does_not_depend_on_the_replica_count()
    {
        var config = NginxConfigWriter.Write(Model(3));
        Assert.Contains("include /run/proxystack/resolver.conf;", config);
        Assert.Contains("zone app 64k;", config);
        Assert.Contains("server hello-app-1:8080 resolve max_fails=3 fail_timeout=5s;", config);
        Assert.Contains("server hello-app-16:8080 resolve max_fails=3 fail_timeout=5s;", config);
        // Free slots fail to resolve every second: the main log keeps only critical messages, requests log through http's.
        Assert.Contains("\nerror_log stderr crit;", config);
        Assert.Contains("    error_log stderr warn;", config);
        Assert.Equal(config, NginxConfigWriter.Write(Model(1)));
        // Every replica carries the set's standby alias from its creation, listed as a backup server: nginx reaches the replicas
        // under it only while no slot resolves — a single replica's slot changing hands (ZeroDowntimeTests has the real nginx).
        Assert.Contains("server hello-app-standby:8080 resolve backup max_fails=3 fail_timeout=5s;\n        keepalive 32;", config);
        Assert.Equal(["hello-app-standby"], ContainerSpecs.App(Model(1), "hello-app-1-joining", 1, "sha256:app", "h").Aliases);
        Assert.Empty(ContainerSpecs.App(Builders.Model(1), "hello-app-1", 1, "sha256:app", "h").Aliases);
        // nginx refuses a backup server with hash and ip_hash ("balancing method does not support parameter backup"): with
        // session affinity the replicas keep their alias, unused, and the upstream lists no backup.
        foreach (var affinity in new[] { Affinity.Cookie, Affinity.Ip })
            Assert.DoesNotContain(" backup", NginxConfigWriter.Write(Model(1) with { SessionAffinity = affinity }));
        // Without DNS membership (an older nginx, host or link mode) replicas are listed and the config reloads on changes.
        Assert.Contains("server hello-app-1:8080 max_fails", NginxConfigWriter.Write(Builders.Model(3)));
        Assert.DoesNotContain("hello-app-4", NginxConfigWriter.Write(Builders.Model(3)));
        Assert.DoesNotContain("resolve", NginxConfigWriter.Write(Model(3) with { NetworkMode = StackNetworkMode.Host.Name }));
    }

    [Fact]
    public void A_fresh_stack_starts_replicas_outside_the_upstream_and_names_each_into_it_once_it_is_ready()
    {
        // The missing proxy starts once the replicas have (it routes only to slot names, which each takes once it is ready);
        // its wait, the commit step, comes after every join and makes nginx resolve them at once.
        var result = Builders.Reconcile(Model(2), new ObservedState { ImageIds = Builders.Images() });
        AssertPlan("""
             1. create network hello-net: missing
             2. create hello-app-1-joining: missing (after 1)
             3. start hello-app-1-joining: missing (after 2)
             4. wait ready hello-app-1-joining: missing (after 3)
             5. create hello-app-2-joining: missing (after 1)
             6. start hello-app-2-joining: missing (after 5)
             7. wait ready hello-app-2-joining: missing (after 6)
             8. join upstream hello-app-1: missing (after 1,4)
             9. join upstream hello-app-2: missing (after 1,7)
            10. create hello-proxy: missing (after 1,3,6)
            11. start hello-proxy: missing (after 10)
            12. wait proxy hello-proxy: missing (after 8,9,11)
            """, result);
        var wait = Assert.Single(result.Plan.Steps, s => s.Kind == StepKind.WaitProxy).Proxy!;
        Assert.True(wait.ResolveNow);
        // The reload waits until the engine's DNS answers every slot name (Podman's drops questions while it reloads).
        Assert.Equal(["hello-app-1", "hello-app-2"], wait.Slots);
        // Each slot must answer with its new replica's address (by name alone where the engine gives none).
        var script = PlanExecutor.ResolveAgainScript([("hello-app-1", "10.89.0.13"), ("hello-app-2", null)]);
        Assert.Contains("has() { RES_OPTIONS='timeout:1 attempts:1' getent ahostsv4 \"$1\" | grep -q \"^$2 \"; }; ", script);
        Assert.Contains("slots_ok() { has hello-app-1 10.89.0.13 && getent hosts hello-app-2 > /dev/null && true; }; i=0; while [ $i -lt 20 ] && ! slots_ok;", script);
        // Then the reload, which returns once nginx's old workers have let go (see ProxyTests for the real nginx).
        Assert.EndsWith(PlanExecutor.ReloadScript, script);
        Assert.Equal(PlanExecutor.ReloadScript, PlanExecutor.ResolveAgainScript([]));
        Assert.Contains("nginx -c /run/proxystack/nginx.conf -s reload || exit $?; ", PlanExecutor.ReloadScript);
        Assert.StartsWith("m=$(cat /tmp/nginx.pid 2>/dev/null); ", PlanExecutor.ReloadScript);
    }

    [Fact]
    public async Task A_proxy_started_before_its_replicas_is_told_to_resolve_once_when_it_first_answers()
    {
        // nginx answers 502 while it has no replica resolved; one reload makes it resolve the slots at once.
        using var proxy = new OkServer("502 Bad Gateway");
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Containers["hello-proxy"] = ("p", [], true);
        var signals = 0;
        var waiter = new ReadinessWaiter(engine, new CapturingStackLog());
        var health = new HealthProbe("/", Strict: false);
        Task Wait(string? statusAfterSignal, bool passProvesResolved = false, int timeoutSeconds = 20) =>
            waiter.WaitForProxyAsync("hello-proxy", "hello-net", $"http://127.0.0.1:{proxy.Port}", health, "", TimeSpan.FromSeconds(timeoutSeconds),
                CancellationToken.None, _ => { signals++; proxy.Status = statusAfterSignal ?? proxy.Status; return Task.CompletedTask; },
                passProvesResolved: passProvesResolved);
        await Wait("200 OK");
        Assert.Equal(1, signals);

        // Already serving the probed route (another project's slots may not be resolved yet): told all the same, once.
        signals = 0;
        await Wait(null);
        Assert.Equal(1, signals);

        // Unless a passing first answer proves every slot resolved (one slot per upstream, see PassProvesResolved): not told.
        signals = 0;
        await Wait(null, passProvesResolved: true);
        Assert.Equal(0, signals);

        // There too, a first answer that does not pass (nginx up, its slot not resolved yet) is told, once.
        proxy.Status = "502 Bad Gateway";
        await Wait("200 OK", passProvesResolved: true);
        Assert.Equal(1, signals);

        // Still 502 after it: the wait goes on to its timeout (STACK4010's exception), without a second reload.
        proxy.Status = "502 Bad Gateway";
        signals = 0;
        await Assert.ThrowsAsync<ReadinessTimeoutException>(() => Wait(null, timeoutSeconds: 2));
        Assert.Equal(1, signals);
    }

    [Fact]
    public void A_first_answer_proves_nginx_resolved_only_where_each_upstream_has_one_slot_no_replica_held_before()
    {
        static bool Proves(StackModel model, ObservedState observed) =>
            Assert.Single(Builders.Reconcile(model, observed).Plan.Steps, s => s.Kind == StepKind.WaitProxy).Proxy!.PassProvesResolved;
        var fresh = new ObservedState { ImageIds = Builders.Images() };
        // One replica, nothing before it: nginx can route only to the new replica's slot name.
        Assert.True(Proves(Model(1), fresh));
        // Two slots: an answer may come from the one slot nginx resolved so far.
        Assert.False(Proves(Model(2), fresh));
        // A replica running before (the proxy alone missing): the slot may resolve to it until the new one takes it over.
        var before = new ObservedState { ImageIds = Builders.Images(), Containers = [Builders.App(Model(1), 1, appId: "sha256:old")] };
        Assert.False(Proves(Model(1), before));
        // Where nginx routes by address (Podman's DNS keeps join-time names), the reload is what routes: always sent.
        Assert.False(Proves(Model(1), fresh with { Dns = ProxyStack.Engine.EngineDns.JoinTimeNames }));
    }

    [Fact]
    public void A_fresh_proxy_is_held_until_every_slot_name_answers_only_where_no_replica_held_one_before()
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var fresh = new ObservedState { ImageIds = Builders.Images(), At = at };
        static (ContainerSpec Create, ProxyCheck Wait) Proxy(StackModel model, ObservedState observed)
        {
            var steps = Builders.Reconcile(model, observed).Plan.Steps;
            return (Assert.Single(steps, s => s.Kind == StepKind.CreateContainer && s.Resource == model.ProxyName).Container!,
                Assert.Single(steps, s => s.Kind == StepKind.WaitProxy).Proxy!);
        }
        static string? Env(ContainerSpec spec, string name) => spec.Environment.SingleOrDefault(e => e.Key == name).Value;

        // Two slots, nothing before them: nginx waits for both names, at most until the replicas' readiness would time out.
        var (create, wait) = Proxy(Model(2), fresh);
        Assert.Equal("hello-app-1 hello-app-2", Env(create, ProxyBuildContext.HoldForVariable));
        Assert.Equal((1_800_000_000 + Model(2).ReadyTimeoutSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture), Env(create, ProxyBuildContext.HoldUntilVariable));
        Assert.True(wait.Held);
        // The proxy's definition (its hash) does not change with the hold: a second StackUp keeps the proxy.
        Assert.Equal(ContainerSpecs.Proxy(Model(2), create.Image, Builders.NginxId, create.Labels[StackLabels.ConfigHash]).Labels, create.Labels);

        // Not where a slot name may still answer with a replica from before, nor where nginx routes by address (the reload
        // gives it the addresses), nor for a proxy that replaces a serving one (it starts once its replicas are ready).
        var before = fresh with { Containers = [Builders.App(Model(1), 1, appId: "sha256:old")] };
        foreach (var (model, observed) in new[] { (Model(1), before), (Model(2), fresh with { Dns = ProxyStack.Engine.EngineDns.JoinTimeNames }) })
        {
            (create, wait) = Proxy(model, observed);
            Assert.Null(Env(create, ProxyBuildContext.HoldForVariable));
            Assert.False(wait.Held);
        }
        var replaced = Builders.Reconcile(Model(2) with { HostPort = 18099 }, Running(Model(2))).Plan.Steps;
        Assert.DoesNotContain(replaced, s => s.Container is { } c && Env(c, ProxyBuildContext.HoldForVariable) is not null);
    }

    [Theory]
    [InlineData("held", false)]
    [InlineData("not held", true)]
    [InlineData("log unreadable", true)]
    public void A_held_proxy_is_reloaded_only_where_its_log_does_not_say_every_name_resolved_before_nginx_started(string log, bool reloaded)
    {
        using var replicas = new OkServer();
        OkServer? nginx = null;
        using var scratch = new TaskScratch();
        var model = Model(2) with { AppPort = replicas.Port, HostPort = Ports.Free(), ReadyTimeoutSeconds = 5 };
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Started = name => nginx ??= name == model.ProxyName ? new OkServer(port: model.HostPort) : null;
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        engine.Images[model.NginxImage] = Builders.NginxId;
        if (log == "held") engine.Logs[model.ProxyName] = ProxyBuildContext.HeldMark + "\n";
        if (log == "log unreadable") engine.LogsFailure = new ProxyStack.Engine.EngineRequestException("GET logs", "configured logging driver does not support reading", conflict: false);
        var apply = scratch.Apply(model, engine);
        apply.NginxVersion = model.NginxVersion;

        Assert.True(apply.Execute(), string.Join("\n", scratch.Build.Errors.Select(e => e.Message)));
        using var stopped = nginx;
        Assert.NotNull(engine.Specs[model.ProxyName].Environment.SingleOrDefault(e => e.Key == ProxyBuildContext.HoldForVariable).Value);
        Assert.Equal(reloaded, engine.Execs.Any(e => e.StartsWith("hello-proxy: sh -c ", StringComparison.Ordinal) && e.Contains(" -s reload", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_replaced_proxy_still_starts_after_the_replicas_and_is_not_told_to_resolve_again()
    {
        // Only a missing proxy starts early: a serving one is replaced once its successor's upstream is ready.
        var result = Builders.Reconcile(Model(2) with { HostPort = 18099 }, Running(Model(2)));
        Assert.False(Assert.Single(result.Plan.Steps, s => s.Kind == StepKind.WaitProxy).Proxy!.ResolveNow);
    }

    [Fact]
    public void Scaling_up_names_the_new_replica_into_its_slot_and_waits_for_the_resolver_without_a_reload()
    {
        AssertPlan("""
             1. create hello-app-3-joining: missing
             2. start hello-app-3-joining: missing (after 1)
             3. wait ready hello-app-3-joining: missing (after 2)
             4. join upstream hello-app-3: missing (after 3)
             5. await resolver hello-proxy: let nginx resolve the changed replicas (after 4)
            """, Builders.Reconcile(Model(3), Running(Model(2))));
    }

    [Fact]
    public void Scaling_down_renames_the_surplus_out_of_the_upstream_and_stops_it_only_after_the_resolver_saw_it()
    {
        var result = Builders.Reconcile(Model(1), Running(Model(3)));
        var text = result.Plan.ToString();
        Assert.DoesNotContain("reload", text);
        Assert.DoesNotContain("drain", text);
        var steps = result.Plan.Steps;
        var resolver = Assert.Single(steps, s => s.Kind == StepKind.AwaitResolver);
        Assert.Equal(StackNetworking.ResolverTime, resolver.Wait);
        Assert.Equal(["hello-app-3", "hello-app-2"], steps.Where(s => s.Kind == StepKind.RetireContainer).Select(s => s.Resource));
        Assert.All(steps.Where(s => s.Kind == StepKind.StopContainer), s =>
        {
            Assert.Equal([resolver.Id], s.DependsOn);
            Assert.Contains("-retiring-", s.Resource);
        });
    }

    [Fact]
    public void A_rolling_replacement_hands_each_slot_over_once_its_successor_is_ready_and_stops_the_old_after_the_resolver()
    {
        var observed = Running(Model(3)) with { ImageIds = Builders.Images("sha256:app2") };
        var result = Builders.Reconcile(Model(3), observed);
        var text = result.Plan.ToString();
        Assert.DoesNotContain("reload", text);
        Assert.DoesNotContain("drain", text);
        var steps = result.Plan.Steps;
        var resolver = Assert.Single(steps, s => s.Kind == StepKind.AwaitResolver && s.IsCommit);
        var waits = steps.Where(s => s.Kind == StepKind.WaitReady).Select(s => s.Id).ToHashSet();
        // Every slot changes hands as soon as its successor is ready, none waiting for nginx to resolve another: should a
        // resolver query fall into every slot's gap at once, the set's standby alias (the upstream's backup) covers it
        // (ZeroDowntimeTests holds every slot name away under load). One wait in all: the commit's, before anything stops.
        var retires = steps.Where(s => s.Kind == StepKind.RetireContainer).ToList();
        Assert.Equal(3, retires.Count);
        Assert.DoesNotContain(steps, s => s.Kind == StepKind.AwaitResolver && !s.IsCommit);
        Assert.Equal(StackNetworking.ResolverTime, resolver.Wait);
        // A slot changes hands once its own successor is ready, not every new replica (the first new replica serves while the
        // others boot); a slot's new holder takes the name after the old one left it.
        Assert.All(retires, r => Assert.Equal(
            [steps.Single(s => s.Kind == StepKind.WaitReady && s.Resource == r.Resource + "-joining").Id], r.DependsOn.Where(waits.Contains)));
        foreach (var join in steps.Where(s => s.Kind == StepKind.JoinUpstream))
        {
            Assert.Equal(join.Resource + "-joining", join.RenameFrom);
            Assert.Contains(steps.Single(s => s.Kind == StepKind.RetireContainer && s.Resource == join.Resource).Id, join.DependsOn);
        }
        Assert.All(steps.Where(s => s.Kind == StepKind.StopContainer), s => Assert.Equal([resolver.Id], s.DependsOn));
        // The first new replica comes up alone (edit-to-served is its start and readiness); the others are created once it
        // is ready, which their hand-overs wait for anyway.
        var creates = steps.Where(s => s.Kind == StepKind.CreateContainer).ToList();
        var firstReady = steps.Single(s => s.Kind == StepKind.WaitReady && s.Resource == "hello-app-1-joining").Id;
        Assert.Equal(["hello-app-1-joining", "hello-app-2-joining", "hello-app-3-joining"], creates.Select(c => c.Resource));
        Assert.DoesNotContain(firstReady, creates[0].DependsOn);
        Assert.All(creates.Skip(1), c => Assert.Contains(firstReady, c.DependsOn));
    }

    [Theory]
    [InlineData(Affinity.Cookie)]
    [InlineData(Affinity.Ip)]
    public void With_session_affinity_the_first_slot_changes_hands_alone_and_the_others_once_nginx_has_resolved_it(string affinity)
    {
        // nginx allows no backup server with hash or ip_hash, so no standby covers a resolver query that falls into every
        // slot's gap at once: the first slot changes hands alone, the others once nginx's resolver has seen it, and then
        // together (one wait between, however many slots).
        var model = Model(3) with { SessionAffinity = affinity };
        var steps = Builders.Reconcile(model, Running(model) with { ImageIds = Builders.Images("sha256:app2") }).Plan.Steps;
        var retires = steps.Where(s => s.Kind == StepKind.RetireContainer).ToList();
        Assert.Equal(3, retires.Count);
        var between = Assert.Single(steps, s => s.Kind == StepKind.AwaitResolver && !s.IsCommit);
        Assert.Equal(StackNetworking.ResolverTime, between.Wait);
        Assert.Equal([steps.Single(s => s.Kind == StepKind.JoinUpstream && s.Resource == retires[0].Resource).Id], between.DependsOn);
        Assert.DoesNotContain(between.Id, retires[0].DependsOn);
        Assert.All(retires.Skip(1), r => Assert.Contains(between.Id, r.DependsOn));
        Assert.Single(steps, s => s.Kind == StepKind.AwaitResolver && s.IsCommit);
    }

    [Fact]
    public void A_bring_up_creates_every_replica_side_by_side()
    {
        var result = Builders.Reconcile(Model(3), new ObservedState { ImageIds = Builders.Images() });
        var steps = result.Plan.Steps;
        var waits = steps.Where(s => s.Kind == StepKind.WaitReady).Select(s => s.Id).ToHashSet();
        var creates = steps.Where(s => s.Kind == StepKind.CreateContainer && s.Resource.Contains("-app-")).ToList();
        Assert.Equal(3, creates.Count);
        Assert.All(creates, c => Assert.DoesNotContain(c.DependsOn, waits.Contains));
    }

    [Fact]
    public void A_replica_that_fails_after_the_first_slot_changed_hands_gives_that_slot_back_to_its_old_replica()
    {
        // The first new replica is ready at once and takes its slot; the second never answers (nothing listens on its
        // address). The failure undoes the hand-over: slot 1 is the old replica's again, which never stopped.
        using var scratch = new TaskScratch();
        using var replicas = new OkServer();
        var model = Model(2) with { AppPort = replicas.Port, HostPort = Ports.Free(), ReadyTimeoutSeconds = 1 };
        var engine = new FakeEngine { Address = "127.0.0.1" }.Holding(Running(model) with { ImageIds = Builders.Images("sha256:app2") });
        engine.Files[$"{model.ProxyName}:{NginxConfigWriter.ConfigPath}"] = NginxConfigWriter.Write(model);
        engine.Addresses["hello-app-2-joining"] = "127.0.0.2";
        var before = engine.Containers.ToDictionary(c => c.Key, c => c.Value.Id);

        var apply = scratch.Apply(model, engine);
        apply.NginxVersion = model.NginxVersion;
        Assert.False(apply.Execute());
        var error = Assert.Single(scratch.Build.Errors);
        Assert.Equal("STACK4004", error.Code);
        Assert.EndsWith("Everything this bring-up created was removed and the stack is as it was.", error.Message);
        var calls = engine.Calls.ToList();
        Assert.DoesNotContain(engine.Execs, e => e.Contains("reload", StringComparison.Ordinal));
        var joined = calls.IndexOf("rename hello-app-1-joining hello-app-1");
        Assert.True(joined >= 0, string.Join("\n", calls));
        Assert.True(joined < calls.IndexOf("rename hello-app-1 hello-app-1-joining"), string.Join("\n", calls));
        Assert.Equal(before, engine.Containers.ToDictionary(c => c.Key, c => c.Value.Id));
        Assert.All(engine.Containers.Values, c => Assert.True(c.Running));
        Assert.DoesNotContain(calls, c => c.StartsWith("stop hello-app-1 ", StringComparison.Ordinal) || c == "stop hello-app-1");
    }

    [Theory]
    [InlineData(3, true)]
    [InlineData(int.MaxValue, false)]
    public void A_fresh_stack_returns_only_once_every_projects_route_reaches_a_replica(int apiFailures, bool served)
    {
        // A stand-in for nginx on the host port: the front project's route answers at once, the API's answers 502 (no
        // replica resolved yet) for the first requests. The front project's answer alone says nothing about the API's.
        using var replicas = new OkServer();
        var apiAsked = 0;
        OkServer? nginx = null;
        using var scratch = new TaskScratch();
        var model = Model(1) with
        {
            AppPort = replicas.Port, HostPort = Ports.Free(), ReadyTimeoutSeconds = 2,
            Projects = [new AppProject { Name = "api", Route = "/api", AppPort = replicas.Port, HealthPath = "/healthz", HealthStrict = true }],
        };
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Started = name => nginx ??= name == model.ProxyName
            ? new OkServer(port: model.HostPort, byPath: path => path.StartsWith("/api/", StringComparison.Ordinal) && Interlocked.Increment(ref apiAsked) <= apiFailures ? "502 Bad Gateway" : null)
            : null;
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        engine.Images["api:latest"] = "sha256:api";
        engine.Images[model.NginxImage] = Builders.NginxId;
        var apply = scratch.Apply(model, engine);
        apply.NginxVersion = model.NginxVersion;
        apply.ProjectImages = [new Microsoft.Build.Utilities.TaskItem("api", new Dictionary<string, string> { ["Image"] = "api:latest" })];

        Assert.True(served == apply.Execute(), string.Join("\n", scratch.Build.Errors.Select(e => e.Message)) + "\n" + string.Join("\n", engine.Calls));
        using var stopped = nginx;
        // Asked through the prefix at the path the API's replicas passed (the prefix is removed on the way).
        Assert.Contains("/api/healthz", nginx!.Paths);
        if (served)
        {
            Assert.Empty(scratch.Build.Errors);
            // nginx was told to resolve again once the engine's DNS answered every slot of every set.
            Assert.Contains(engine.Execs, e => e.StartsWith("hello-proxy: sh -c ", StringComparison.Ordinal) && e.Contains("slots_ok() { has hello-app-1 127.0.0.1 && has hello-api-1 127.0.0.1 && true; }", StringComparison.Ordinal));
            Assert.Equal(apiFailures + 1, nginx.Paths.Count(p => p == "/api/healthz"));
        }
        else
        {
            var error = Assert.Single(scratch.Build.Errors);
            Assert.Equal("STACK4010", error.Code);
            Assert.Contains("GET /api/healthz → HTTP 502 BadGateway", error.Message);
            Assert.Empty(engine.Containers);
        }
    }

    /// <summary>Podman: replicas 1..n hold their slots, at 10.89.0.(10+n), and the proxy routes to those addresses.</summary>
    private static ObservedState RoutedOnPodman(StackModel model)
    {
        var addresses = Enumerable.Range(1, model.Replicas).ToDictionary(n => model.AppName(n), n => $"10.89.0.{10 + n}");
        return Running(model) with
        {
            Dns = ProxyStack.Engine.EngineDns.JoinTimeNames,
            SlotAddresses = addresses,
            ProxyConfigHash = ConfigHash.Of(NginxConfigWriter.RouteByAddress(NginxConfigWriter.Write(model), addresses)),
        };
    }

    [Fact]
    public void Where_slots_are_aliases_the_config_lists_the_replicas_addresses_and_keeps_names_where_none_is_known()
    {
        var model = Model(3) with { Projects = [new AppProject { Name = "api", Route = "/api" }] };
        var config = NginxConfigWriter.Write(model);
        var routed = NginxConfigWriter.RouteByAddress(config, new Dictionary<string, string> { ["hello-app-1"] = "10.89.0.11", ["hello-app-2"] = "10.89.0.12" });
        Assert.StartsWith(NginxConfigWriter.AddressHeader + "\n", routed);
        Assert.Contains("        server 10.89.0.11:8080 max_fails=3 fail_timeout=5s; # hello-app-1\n        server 10.89.0.12:8080 max_fails=3 fail_timeout=5s; # hello-app-2\n        keepalive 32;", routed);
        // The other slots of that upstream are left out; an upstream with no address known keeps resolving its names.
        Assert.DoesNotContain("hello-app-3:8080", routed);
        Assert.Contains("server hello-api-1:8080 resolve", routed);
        // Routed by address, the upstream has no use for its standby alias either (StackNetworking.Standby): left out too.
        Assert.DoesNotContain("server hello-app-standby", routed);
        Assert.Contains("server hello-api-standby:8080 resolve backup", routed);
        Assert.Equal(config.Split('\n').Length + 1 - 16 - 1 + 2, routed.Split('\n').Length);
        // Deterministic: the planner compares what it renders with what the proxy holds.
        Assert.Equal(routed, NginxConfigWriter.RouteByAddress(config, new Dictionary<string, string> { ["hello-app-2"] = "10.89.0.12", ["hello-app-1"] = "10.89.0.11" }));
        Assert.DoesNotContain("hello-app-1:8080 resolve", routed);
        Assert.Contains("hello-app-1:8080 resolve", NginxConfigWriter.RouteByAddress(config, new Dictionary<string, string>()));
    }

    [Fact]
    public void Where_slots_are_aliases_each_slot_changes_hands_then_one_reload_routes_by_address_before_the_old_leave()
    {
        // Podman: the old replica answers to its slot until it stops, and nginx's resolver was seen to keep departed
        // addresses, so the slots change hands and one reload gives nginx the new replicas' addresses; only then, after a drain,
        // do the old ones stop.
        var observed = RoutedOnPodman(Model(3)) with { ImageIds = Builders.Images("sha256:app2") };
        var steps = Builders.Reconcile(Model(3), observed).Plan.Steps;
        Assert.DoesNotContain(steps, s => s.Kind == StepKind.AwaitResolver);
        var reload = Assert.Single(steps, s => s.Kind == StepKind.ReloadProxy);
        Assert.True(reload.IsCommit && reload.RouteByAddress);
        Assert.Equal("replicas changed", reload.Cause);
        Assert.Equal(["hello-app-1", "hello-app-2", "hello-app-3"], reload.Slots);
        Assert.Equal("hello-net", reload.AliasNetwork);
        Assert.Equal(NginxConfigWriter.Write(Model(3)), reload.Config);
        var joins = steps.Where(s => s.Kind == StepKind.JoinUpstream).ToList();
        Assert.Equal(3, joins.Count);
        Assert.All(joins, j => Assert.Equal("hello-net", j.AliasNetwork));
        // nginx has a new replica's address only from the commit's reload on: an undo before it stops the replica at once.
        Assert.All(joins, j => Assert.Equal(TimeSpan.Zero, j.Wait));
        Assert.Equal(joins.Select(j => j.Id).Order(), reload.DependsOn);
        Assert.All(steps.Where(s => s.Kind == StepKind.RetireContainer), r => Assert.Equal(
            [steps.Single(s => s.Kind == StepKind.WaitReady && s.Resource == r.Resource + "-joining").Id], r.DependsOn));
        var drain = Assert.Single(steps, s => s.Kind == StepKind.Drain);
        Assert.Equal([reload.Id], drain.DependsOn);
        Assert.All(steps.Where(s => s.Kind == StepKind.StopContainer), s => Assert.Equal([drain.Id], s.DependsOn));
        // A swarm node's DNS keeps join-time names too: the same plan.
        Assert.Equal(Builders.Reconcile(Model(3), observed).Plan.ToString(),
            Builders.Reconcile(Model(3), observed with { Dns = ProxyStack.Engine.EngineDns.SwarmNode }).Plan.ToString());
        // Where renames reach the DNS (Docker), the same change goes through nginx's resolver, without a reload.
        var docker = Builders.Reconcile(Model(3), Running(Model(3)) with { ImageIds = Builders.Images("sha256:app2") }).Plan.Steps;
        Assert.DoesNotContain(docker, s => s.Kind == StepKind.ReloadProxy || s.RouteByAddress);
        Assert.All(docker.Where(s => s.Kind == StepKind.JoinUpstream), j => Assert.Null(j.AliasNetwork));
        // There nginx may route to a new replica from its next lookup on: an undo of the join gives nginx's resolver its
        // time to see the slot given back before the replica stops.
        Assert.All(docker.Where(s => s.Kind == StepKind.JoinUpstream), j => Assert.Equal(StackNetworking.ResolverTime, j.Wait));
    }

    [Fact]
    public void Where_slots_are_aliases_a_scale_down_reloads_without_the_surplus_and_a_stale_proxy_is_reloaded()
    {
        var observed = RoutedOnPodman(Model(3));
        Assert.True(Builders.Reconcile(Model(3), observed).Plan.IsEmpty);
        AssertPlan("""
             1. retire hello-app-3 as hello-app-3-retiring-aaaaaaaaaaaa: replica 3 > StackReplicas 2
             2. reload hello-proxy: replicas changed (after 1)
             3. drain hello-proxy: let in-flight requests finish (after 2)
             4. stop hello-app-3-retiring-aaaaaaaaaaaa: replica 3 > StackReplicas 2 (after 3)
             5. remove hello-app-3-retiring-aaaaaaaaaaaa: replica 3 > StackReplicas 2 (after 4)
            """, Builders.Reconcile(Model(2), observed));
        // A proxy that holds other addresses (a replica that came back with a new one) or its image's config (it restarted)
        // is reloaded, nothing else changes.
        foreach (var stale in new[] { observed with { SlotAddresses = new Dictionary<string, string>(observed.SlotAddresses) { ["hello-app-2"] = "10.89.0.99" } },
            observed with { ProxyConfigHash = ConfigHash.Of(NginxConfigWriter.Write(Model(3))) } })
            AssertPlan("""
                 1. reload hello-proxy: configuration or replica addresses changed
                """, Builders.Reconcile(Model(3), stale));
    }

    [Fact]
    public void A_stopped_replica_is_replaced_not_started_and_a_stale_joining_container_goes_first()
    {
        var model = Model(2);
        var observed = Running(model);
        var stale = Builders.App(model, 1) with { Name = "hello-app-1-joining", Id = "stale1234567890" };
        observed = observed with
        {
            Containers = observed.Containers.Select(c => c.Name == "hello-app-2" ? c with { Running = false } : c).Append(stale).ToList(),
        };
        var result = Builders.Reconcile(model, observed with { ImageIds = Builders.Images("sha256:app2") });
        var steps = result.Plan.Steps;
        Assert.DoesNotContain(steps, s => s.Kind == StepKind.StartContainer && s.Resource == "hello-app-2");
        var removeStale = Assert.Single(steps, s => s.Kind == StepKind.RemoveContainer && s.Resource == "hello-app-1-joining");
        var create = Assert.Single(steps, s => s.Kind == StepKind.CreateContainer && s.Resource == "hello-app-1-joining");
        Assert.Contains(removeStale.Id, create.DependsOn);
        Assert.Single(steps, s => s.Kind == StepKind.RemoveContainer && s.Resource == "hello-app-1-joining");
    }

    [Fact]
    public void A_foreign_container_holding_a_joining_name_stops_the_plan()
    {
        var model = Model(2);
        var observed = new ObservedState
        {
            ImageIds = Builders.Images(),
            Containers = [new ObservedContainer("f00", "hello-app-2-joining", new Dictionary<string, string>(), true)],
        };
        Assert.Equal("STACK4001", Assert.Single(Builders.Reconcile(model, observed).Diagnostics).Code);
    }

    [Fact]
    public void With_a_config_change_the_reload_comes_before_any_slot_changes_hands()
    {
        var observed = Running(Model(2)) with { ImageIds = Builders.Images("sha256:app2"), ProxyConfigHash = "sha256:older" };
        var steps = Builders.Reconcile(Model(2), observed).Plan.Steps;
        var reload = Assert.Single(steps, s => s.Kind == StepKind.ReloadProxy);
        Assert.True(reload.IsCommit);
        Assert.Equal(steps.Where(s => s.Kind == StepKind.WaitReady).Select(s => s.Id).Order(), reload.DependsOn.Order());
        // A config nginx refuses stops the run here: no old replica was renamed, no newcomer took a slot.
        Assert.All(steps.Where(s => s.Kind is StepKind.RetireContainer or StepKind.JoinUpstream), s => Assert.Contains(reload.Id, s.DependsOn));
        Assert.DoesNotContain(steps, s => s.Kind == StepKind.AwaitResolver && s.IsCommit);
        var resolver = steps.Last(s => s.Kind == StepKind.AwaitResolver);
        Assert.All(steps.Where(s => s.Kind == StepKind.StopContainer), s => Assert.Equal([resolver.Id], s.DependsOn));
    }

    [Fact]
    public void A_config_change_still_reloads_in_place()
    {
        var model = Model(2);
        var observed = Running(model) with { ProxyConfigHash = "sha256:older" };
        AssertPlan("""
             1. reload hello-proxy: configuration changed
            """, Builders.Reconcile(model, observed));
    }

    [Fact]
    public async Task A_failure_after_a_slot_changed_hands_gives_the_slot_back_and_stops_the_newcomer_gracefully_once_nginx_can_have_seen_it()
    {
        var model = Model(2);
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Containers["hello-app-2"] = ("old2", new Dictionary<string, string>(), true);
        var plan = new Plan([
            new PlanStep(1, StepKind.CreateContainer, "hello-app-2-joining", "image changed", []) { Container = ContainerSpecs.App(model, "hello-app-2-joining", 2, Builders.AppImageId, "h") },
            new PlanStep(2, StepKind.RetireContainer, "hello-app-2", "image changed", [1]) { RenameTo = "hello-app-2-retiring-old2" },
            new PlanStep(3, StepKind.JoinUpstream, "hello-app-2", "image changed", [2]) { RenameFrom = "hello-app-2-joining", Wait = TimeSpan.FromMilliseconds(400) },
            new PlanStep(4, StepKind.ReloadProxy, "hello-proxy", "configuration changed", [3]) { Config = "x", IsCommit = true },
        ]);
        engine.ExecResult = (1, "nginx: [emerg] refused by the test");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ProxyStack.Diagnostics.StackException>(() => new PlanExecutor(engine, new NullStackLog()).ExecuteAsync(plan, model, CancellationToken.None));
        Assert.Equal("STACK4008", e.Diagnostic.Code);
        var calls = string.Join("\n", engine.Calls);
        Assert.Contains("rename hello-app-2-joining hello-app-2", engine.Calls);
        // Undone in this order: the newcomer gives the name up and the old replica, which never stopped, gets it back; the
        // newcomer keeps serving what nginx still sends it until nginx's resolver can have seen that (the join's Wait), then
        // stops gracefully and goes. Stopped before, it refused nginx's requests while no slot held a live replica.
        var giveUp = engine.Calls.IndexOf("rename hello-app-2 hello-app-2-joining");
        var back = engine.Calls.IndexOf("rename hello-app-2-retiring-old2 hello-app-2");
        var stop = engine.Calls.IndexOf("stop hello-app-2-joining");
        Assert.True(giveUp >= 0 && giveUp < back && back < stop && stop < engine.Calls.IndexOf("rm hello-app-2-joining"), calls);
        // The join's 400 ms wait was kept. Task.Delay's timer counts whole milliseconds of a coarser clock than the Stopwatch's,
        // so it can end a little early by this clock (399.6 ms in one CI run): a margin of one timer tick, far from no wait.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(400 - 16), $"the rollback took {clock.Elapsed.TotalMilliseconds} ms\n{calls}");
        Assert.Equal("old2", engine.Containers["hello-app-2"].Id);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task A_run_ended_for_the_next_one_gives_the_slot_back_at_once_and_leaves_the_newcomer_running_aside(bool leaveToNextRun, bool slotIsAlias)
    {
        // Where the slot is a network alias (Podman) a rename would not take it from the newcomer: never left there.
        var leave = leaveToNextRun && !slotIsAlias;
        // A dotnet watch restart during a roll: watch kills the run 5 s after its SIGTERM, and the next run follows at once.
        var model = Model(2);
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Containers["hello-app-2"] = ("old2", new Dictionary<string, string>(), true);
        using var cts = new CancellationTokenSource();
        var plan = new Plan([
            new PlanStep(1, StepKind.CreateContainer, "hello-app-2-joining", "image changed", []) { Container = ContainerSpecs.App(model, "hello-app-2-joining", 2, Builders.AppImageId, "h") },
            new PlanStep(5, StepKind.StartContainer, "hello-app-2-joining", "image changed", [1]),
            new PlanStep(2, StepKind.RetireContainer, "hello-app-2", "image changed", [5]) { RenameTo = "hello-app-2-retiring-old2" },
            new PlanStep(3, StepKind.JoinUpstream, "hello-app-2", "image changed", [2]) { RenameFrom = "hello-app-2-joining", Wait = TimeSpan.FromSeconds(3), AliasNetwork = slotIsAlias ? "hello-net" : null },
            new PlanStep(4, StepKind.AwaitResolver, "hello-proxy", "replicas changed", [3]) { IsCommit = true, Wait = TimeSpan.FromSeconds(30) },
        ]);
        var run = new PlanExecutor(engine, new NullStackLog()) { LeaveToNextRun = () => leaveToNextRun }.ExecuteAsync(plan, model, cts.Token);
        while (!engine.Calls.Contains("rename hello-app-2-joining hello-app-2") || engine.Calls.Count(c => c.StartsWith("rejoin ", StringComparison.Ordinal)) < (slotIsAlias ? 1 : 0)) await Task.Delay(10);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        cts.Cancel();
        var e = await Assert.ThrowsAsync<ProxyStack.Diagnostics.StackException>(() => run);
        var calls = string.Join("\n", engine.Calls);
        // Either way the old replica, which never stopped, has its slot back.
        Assert.Equal("old2", engine.Containers["hello-app-2"].Id);
        if (!leave)
        {
            // Nothing to take over: the newcomer stops gracefully once nginx can have let go of it, as always.
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(3) - TimeSpan.FromMilliseconds(16), calls);
            Assert.Contains("stop hello-app-2-joining", engine.Calls);
            Assert.EndsWith("Everything this bring-up created was removed and the stack is as it was.", e.Diagnostic.Format());
            return;
        }
        // Left to the next run: renamed aside under a retiring name (the next run's leftover of an interrupted replacement),
        // still running, neither stopped nor removed, and the run ends without waiting for nginx's resolver.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the rollback took {clock.Elapsed.TotalMilliseconds} ms\n{calls}");
        var aside = Assert.Single(engine.Containers.Keys, n => n.StartsWith("hello-app-2-retiring-", StringComparison.Ordinal) && n != "hello-app-2-retiring-old2");
        Assert.True(engine.Containers[aside].Running, calls);
        Assert.DoesNotContain(engine.Calls, c => c.StartsWith("stop ", StringComparison.Ordinal) || c.StartsWith("rm ", StringComparison.Ordinal));
        Assert.True(engine.Calls.IndexOf($"rename hello-app-2 {aside}") < engine.Calls.IndexOf("rename hello-app-2-retiring-old2 hello-app-2"), calls);
        Assert.Equal($"STACK4006: Bring-up of stack 'hello' was cancelled. Every slot went back to the replica that held it; the new replica(s) that had joined ({aside}) keep serving what nginx still sends them, and the next run removes them once nginx has let go (so does the end of dotnet watch). Everything else this bring-up created was removed.", e.Diagnostic.Format());
    }

    /// <summary>A roll of slot 2 past its commit point (nginx has seen the new replica), then the old replica's stop.</summary>
    private static Plan CommittedRoll(ProxyStack.Model.StackModel model) => new([
        new PlanStep(1, StepKind.CreateContainer, "hello-app-2-joining", "image changed", []) { Container = ContainerSpecs.App(model, "hello-app-2-joining", 2, Builders.AppImageId, "h") },
        new PlanStep(2, StepKind.RetireContainer, "hello-app-2", "image changed", [1]) { RenameTo = "hello-app-2-retiring-old2" },
        new PlanStep(3, StepKind.JoinUpstream, "hello-app-2", "image changed", [2]) { RenameFrom = "hello-app-2-joining", Wait = TimeSpan.FromSeconds(5) },
        new PlanStep(4, StepKind.AwaitResolver, "hello-proxy", "replicas changed", [3]) { IsCommit = true, Wait = TimeSpan.FromMilliseconds(10) },
        new PlanStep(5, StepKind.StopContainer, "hello-app-2-retiring-old2", "replaced", [4]),
    ]);

    [Fact]
    public async Task A_failure_past_the_commit_point_undoes_nothing_and_says_so_whole()
    {
        var model = Model(2);
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Containers["hello-app-2"] = ("old2", new Dictionary<string, string>(), true);
        engine.FailingCalls.Add("stop hello-app-2-retiring-old2");
        var e = await Assert.ThrowsAsync<ProxyStack.Diagnostics.StackException>(() => new PlanExecutor(engine, new NullStackLog()).ExecuteAsync(CommittedRoll(model), model, CancellationToken.None));
        Assert.Equal("STACK4007: Step 'stop hello-app-2-retiring-old2: replaced' failed: refused by the test. The new stack was already serving through nginx, so nothing was undone; run StackUp again to finish.", e.Diagnostic.Format());
        // The new replica keeps its slot: nothing gives it back, stops it or removes it.
        Assert.DoesNotContain("rename hello-app-2 hello-app-2-joining", engine.Calls);
        Assert.DoesNotContain(engine.Calls, c => c.StartsWith("rm ", StringComparison.Ordinal));
        Assert.NotEqual("old2", engine.Containers["hello-app-2"].Id);
        Assert.Equal("old2", engine.Containers["hello-app-2-retiring-old2"].Id);
    }

    [Fact]
    public async Task A_cancellation_past_the_commit_point_undoes_nothing_and_says_so_whole()
    {
        var model = Model(2);
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Containers["hello-app-2"] = ("old2", new Dictionary<string, string>(), true);
        using var cts = new CancellationTokenSource();
        // Cancelled in a long step after the old replica's stop, which follows the commit.
        var steps = CommittedRoll(model).Steps.Append(new PlanStep(6, StepKind.AwaitResolver, "hello-proxy", "test", [5]) { Wait = TimeSpan.FromSeconds(30) });
        var run = new PlanExecutor(engine, new NullStackLog()).ExecuteAsync(new Plan([.. steps]), model, cts.Token);
        while (!engine.Calls.Contains("stop hello-app-2-retiring-old2")) await Task.Delay(10);
        cts.Cancel();
        var e = await Assert.ThrowsAsync<ProxyStack.Diagnostics.StackException>(() => run);
        Assert.Equal("STACK4006: Bring-up of stack 'hello' was cancelled. The new stack was already serving through nginx, so nothing was undone; run StackUp again to finish.", e.Diagnostic.Format());
        Assert.False(e.Diagnostic.IsError);
        Assert.DoesNotContain("rename hello-app-2 hello-app-2-joining", engine.Calls);
    }

    [Fact]
    public async Task Containers_start_two_at_a_time_while_their_creates_run_side_by_side()
    {
        // Six replicas with nothing between them: every create may run at once, but the engine gets two starts at a time.
        var model = Model(6);
        var engine = new FakeEngine { Address = "127.0.0.1", StartDelay = TimeSpan.FromMilliseconds(50) };
        var steps = Enumerable.Range(1, 6).SelectMany(i => new[]
        {
            new PlanStep(2 * i - 1, StepKind.CreateContainer, $"hello-app-{i}", "missing", []) { Container = ContainerSpecs.App(model, $"hello-app-{i}", i, Builders.AppImageId, "h") },
            new PlanStep(2 * i, StepKind.StartContainer, $"hello-app-{i}", "missing", [2 * i - 1]),
        }).ToList();
        await new PlanExecutor(engine, new NullStackLog()).ExecuteAsync(new Plan(steps), model, CancellationToken.None);
        Assert.Equal(PlanExecutor.MaxStartsAtOnce, engine.MostStartsAtOnce);
        Assert.All(Enumerable.Range(1, 6), i => Assert.True(engine.Containers[$"hello-app-{i}"].Running));
        // Every create came before the first start: the limit holds starts back, not creates.
        Assert.True(engine.Calls.ToList().FindLastIndex(c => c.StartsWith("create ", StringComparison.Ordinal)) < engine.Calls.ToList().FindIndex(c => c.StartsWith("start ", StringComparison.Ordinal)), string.Join("\n", engine.Calls));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Where_dns_keeps_join_time_names_a_replica_takes_its_slot_as_a_network_alias(bool dnsFollowsRenames)
    {
        // Podman's DNS answers to the name a container joined with, so a rename alone would leave the slot unresolvable there.
        var model = Model(2);
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Containers["hello-app-2-joining"] = ("new2", new Dictionary<string, string>(), true);
        var plan = new Plan([new PlanStep(1, StepKind.JoinUpstream, "hello-app-2", "missing", []) { RenameFrom = "hello-app-2-joining", AliasNetwork = dnsFollowsRenames ? null : "hello-net" }]);
        await new PlanExecutor(engine, new NullStackLog()).ExecuteAsync(plan, model, CancellationToken.None);
        var rename = engine.Calls.IndexOf("rename hello-app-2-joining hello-app-2");
        var rejoin = engine.Calls.IndexOf("rejoin hello-app-2 hello-net as hello-app-2");
        Assert.True(rename >= 0, string.Join("\n", engine.Calls));
        if (dnsFollowsRenames) Assert.Equal(-1, rejoin);
        else Assert.True(rejoin > rename, string.Join("\n", engine.Calls));
    }

    [Theory]
    [InlineData("nginx version: nginx/1.30.6\n", "1.30.6", true)]
    [InlineData("nginx version: nginx/1.27.3", "1.27.3", true)]
    [InlineData("nginx version: nginx/1.27.2", "1.27.2", false)]
    [InlineData("/docker-entrypoint.sh: Configuration complete\nnginx version: nginx/1.22.1\n", "1.22.1", false)]
    [InlineData("nginx version: openresty/1.21.4.1", null, false)]
    public void The_version_nginx_prints_decides_whether_it_resolves(string output, string? version, bool resolves)
    {
        var parsed = NginxVersions.Parse(output);
        Assert.Equal(version, parsed?.ToString());
        Assert.Equal(resolves, NginxVersions.Resolves(parsed?.ToString() ?? ""));
    }
}
