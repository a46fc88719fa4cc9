using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>Desired and observed literals in, golden plan text out.</summary>
public class ReconcilerTests
{
    private static string Config(StackModel model) => NginxConfigWriter.Write(model);

    private static ReconcileResult Plan(StackModel model, ObservedState observed) => Builders.Reconcile(model, observed);

    private static void AssertPlan(string expected, ReconcileResult result) => Builders.AssertPlan(expected, result);

    [Fact]
    public void Fresh_stack_creates_network_then_replicas_then_proxy()
    {
        var model = Builders.Model(2);
        AssertPlan("""
             1. create network hello-net: missing
             2. create hello-app-1: missing (after 1)
             3. start hello-app-1: missing (after 2)
             4. wait ready hello-app-1: missing (after 3)
             5. create hello-app-2: missing (after 1)
             6. start hello-app-2: missing (after 5)
             7. wait ready hello-app-2: missing (after 6)
             8. create hello-proxy: missing (after 1,4,7)
             9. start hello-proxy: missing (after 8)
            10. wait proxy hello-proxy: missing (after 9)
            """, Plan(model, new ObservedState { ImageIds = Builders.Images() }));
    }

    [Fact]
    public void Second_apply_is_a_no_op()
    {
        var model = Builders.Model();
        var result = Plan(model, Builders.Running(model, Config(model)));
        Assert.True(result.Plan.IsEmpty, result.Plan.ToString());
        Assert.Equal(["hello-app-1", "hello-app-2", "hello-app-3", "hello-proxy"], result.Kept);
    }

    [Fact]
    public void Scaling_up_adds_replicas_and_reloads_the_proxy_after_they_are_ready()
    {
        var model = Builders.Model(3);
        var observed = Builders.Running(Builders.Model(2), Config(Builders.Model(2)));
        AssertPlan("""
             1. create hello-app-3: missing
             2. start hello-app-3: missing (after 1)
             3. wait ready hello-app-3: missing (after 2)
             4. reload hello-proxy: replicas changed (after 3)
            """, Plan(model, observed));
    }

    [Fact]
    public void Scaling_down_takes_replicas_out_of_nginx_before_stopping_them_highest_first()
    {
        var model = Builders.Model(1);
        var observed = Builders.Running(Builders.Model(3), Config(Builders.Model(3)));
        AssertPlan("""
             1. reload hello-proxy: replicas changed
             2. drain hello-proxy: let in-flight requests finish (after 1)
             3. stop hello-app-3: replica 3 > StackReplicas 1 (after 2)
             4. remove hello-app-3: replica 3 > StackReplicas 1 (after 3)
             5. stop hello-app-2: replica 2 > StackReplicas 1 (after 2)
             6. remove hello-app-2: replica 2 > StackReplicas 1 (after 5)
            """, Plan(model, observed));
    }

    [Fact]
    public void Image_change_replaces_replicas_rolling_and_never_recreates_the_proxy()
    {
        var model = Builders.Model(2);
        var observed = Builders.Running(model, Config(model)) with { ImageIds = Builders.Images("sha256:app2") };
        AssertPlan("""
             1. retire hello-app-1 as hello-app-1-retiring-aaaaaaaaaaaa: image changed
             2. create hello-app-1: image changed (after 1)
             3. start hello-app-1: image changed (after 2)
             4. wait ready hello-app-1: image changed (after 3)
             5. retire hello-app-2 as hello-app-2-retiring-aaaaaaaaaaaa: image changed
             6. create hello-app-2: image changed (after 5)
             7. start hello-app-2: image changed (after 6)
             8. wait ready hello-app-2: image changed (after 7)
             9. reload hello-proxy: replicas changed (after 4,8)
            10. drain hello-proxy: let in-flight requests finish (after 9)
            11. stop hello-app-1-retiring-aaaaaaaaaaaa: replaced (after 10)
            12. remove hello-app-1-retiring-aaaaaaaaaaaa: replaced (after 11)
            13. stop hello-app-2-retiring-aaaaaaaaaaaa: replaced (after 10)
            14. remove hello-app-2-retiring-aaaaaaaaaaaa: replaced (after 13)
            15. remove image sha256:app1: no longer used by the stack (after 12,14)
            """, Plan(model, observed));
    }

    [Fact]
    public void Environment_change_recreates_only_app_replicas()
    {
        var before = Builders.Model(1);
        var model = before with { Environment = [new("GREETING", "hi")] };
        var result = Plan(model, Builders.Running(before, Config(before)));
        Assert.Contains("retire hello-app-1 as hello-app-1-retiring-aaaaaaaaaaaa: configuration changed", result.Plan.ToString());
        Assert.DoesNotContain(result.Plan.Steps, s => s.Resource == "hello-proxy" && s.Kind != StepKind.ReloadProxy && s.Kind != StepKind.Drain);
    }

    [Fact]
    public void Config_only_change_reloads_nginx_in_place()
    {
        var model = Builders.Model(2);
        var observed = Builders.Running(model, "# an older nginx.conf\n");
        AssertPlan(" 1. reload hello-proxy: configuration changed", Plan(model, observed));
    }

    [Fact]
    public void A_replaced_proxy_takes_its_old_image_with_it_once_it_is_gone()
    {
        // The proxy image is rebuilt for every changed nginx.conf (it is baked in) while the running proxy, reloaded in place,
        // keeps the image it was created from: when that proxy goes, its image goes after it — unless it is the current one.
        var model = Builders.Model(1);
        ObservedState WithProxyImage(ObservedState o, string image) =>
            o with { Containers = o.Containers.Select(c => c.Name == "hello-proxy" ? c with { Image = image } : c).ToList() };
        var newBase = Builders.Running(model, Config(model)) with { ImageIds = new Dictionary<string, string> { [Builders.AppImage] = Builders.AppImageId, ["nginx:stable"] = "sha256:nginx2" } };
        var replaced = Plan(model, WithProxyImage(newBase, "sha256:proxy1")).Plan.ToString();
        Assert.Contains("9. remove hello-proxy-retiring-bbbbbbbbbbbb: replaced (after 8)", replaced);
        Assert.Contains("10. remove image sha256:proxy1: no longer used by the stack (after 9)", replaced);
        Assert.DoesNotContain("remove image", Plan(model, WithProxyImage(newBase, Builders.ProxyImage)).Plan.ToString());

        // Stopped: removed before its successor is created, and its image after that removal.
        var stopped = WithProxyImage(Builders.Running(model, Config(model)), "sha256:proxy1");
        stopped = stopped with { Containers = stopped.Containers.Select(c => c.Name == "hello-proxy" ? c with { Running = false } : c).ToList() };
        var restarted = Plan(model, stopped).Plan;
        var removal = Assert.Single(restarted.Steps, s => s.Kind == StepKind.RemoveContainer && s.Resource == "hello-proxy");
        var image = Assert.Single(restarted.Steps, s => s.Kind == StepKind.RemoveImage);
        Assert.Equal("sha256:proxy1", image.Resource);
        Assert.Contains(removal.Id, image.DependsOn);
    }

    [Fact]
    public void New_nginx_base_image_replaces_the_proxy()
    {
        var model = Builders.Model(1);
        var observed = Builders.Running(model, Config(model)) with { ImageIds = new Dictionary<string, string> { [Builders.AppImage] = Builders.AppImageId, ["nginx:stable"] = "sha256:nginx2" } };
        // Same address and port: the old proxy must stop before the new one binds, so the new config is checked with nginx -t
        // first, and the old one is only renamed and stopped (started again if the new one fails), removed after the switch.
        AssertPlan("""
             1. check config hello-proxy: definition changed
             2. retire hello-proxy as hello-proxy-retiring-bbbbbbbbbbbb: definition changed (after 1)
             3. stop hello-proxy-retiring-bbbbbbbbbbbb: definition changed (after 2)
             4. create hello-proxy: definition changed (after 3)
             5. start hello-proxy: definition changed (after 4)
             6. wait proxy hello-proxy: definition changed (after 5)
             7. drain hello-proxy: let in-flight requests finish (after 6)
             8. stop hello-proxy-retiring-bbbbbbbbbbbb: replaced (after 7)
             9. remove hello-proxy-retiring-bbbbbbbbbbbb: replaced (after 8)
            """, Plan(model, observed));
        var result = Plan(model, observed);
        Assert.True(result.Plan.Steps[2].UndoByStarting);
        Assert.True(result.Plan.Steps[5].IsCommit);
    }

    [Fact]
    public void Host_port_change_starts_the_new_proxy_beside_the_old_one_and_touches_no_replica()
    {
        var before = Builders.Model(2);
        var model = before with { HostPort = 9090 };
        AssertPlan("""
             1. retire hello-proxy as hello-proxy-retiring-bbbbbbbbbbbb: definition changed
             2. create hello-proxy: definition changed (after 1)
             3. start hello-proxy: definition changed (after 2)
             4. wait proxy hello-proxy: definition changed (after 3)
             5. drain hello-proxy: let in-flight requests finish (after 4)
             6. stop hello-proxy-retiring-bbbbbbbbbbbb: replaced (after 5)
             7. remove hello-proxy-retiring-bbbbbbbbbbbb: replaced (after 6)
            """, Plan(model, Builders.Running(before, Config(before))));
    }

    [Fact]
    public void A_taken_new_host_port_is_refused_while_the_old_proxy_keeps_serving()
    {
        var before = Builders.Model(2);
        var model = before with { HostPort = 9090 };
        var result = Plan(model, Builders.Running(before, Config(before)) with { BusyHostPort = 9090 });
        Assert.True(result.Plan.IsEmpty);
        Assert.Equal("STACK4003: StackHostPort 9090 on 127.0.0.1 is already in use by another process or stack. Stop it, or set StackHostPort to a free port.",
            Assert.Single(result.Diagnostics).Format());
    }

    [Fact]
    public void Stopped_replica_is_started_again_and_the_proxy_reloaded()
    {
        var model = Builders.Model(2);
        var observed = Builders.Running(model, Config(model));
        observed = observed with { Containers = observed.Containers.Select(c => c.Name == "hello-app-2" ? c with { Running = false } : c).ToList() };
        AssertPlan("""
             1. start hello-app-2: not running
             2. wait ready hello-app-2: not running (after 1)
             3. reload hello-proxy: replicas changed (after 2)
            """, Plan(model, observed));
    }

    [Fact]
    public void A_stack_whose_network_was_deleted_by_hand_is_repaired()
    {
        var model = Builders.Model(1);
        var observed = Builders.Running(model, Config(model)) with { Networks = [] };
        var plan = Plan(model, observed).Plan.ToString();
        Assert.StartsWith(" 1. create network hello-net: missing", plan);
        Assert.Contains("retire hello-app-1 as hello-app-1-retiring-aaaaaaaaaaaa: network recreated", plan);
        Assert.Contains("create hello-proxy: network recreated", plan);
        Assert.Contains("remove hello-app-1-retiring-aaaaaaaaaaaa: replaced", plan);
    }

    [Fact]
    public void A_stack_whose_proxy_was_deleted_by_hand_gets_a_new_proxy_only()
    {
        var model = Builders.Model(2);
        var observed = Builders.Running(model, Config(model));
        observed = observed with { Containers = observed.Containers.Where(c => c.Name != "hello-proxy").ToList(), ProxyConfigHash = null };
        AssertPlan("""
             1. create hello-proxy: missing
             2. start hello-proxy: missing (after 1)
             3. wait proxy hello-proxy: missing (after 2)
            """, Plan(model, observed));
    }

    [Fact]
    public void Leftovers_of_an_interrupted_replacement_are_removed()
    {
        var model = Builders.Model(1);
        var observed = Builders.Running(model, Config(model));
        var leftover = Builders.App(model, 1) with { Name = "hello-app-1-retiring-0123456789ab", Running = false };
        observed = observed with { Containers = [.. observed.Containers, leftover] };
        AssertPlan("""
             1. reload hello-proxy: replicas changed
             2. drain hello-proxy: let in-flight requests finish (after 1)
             3. stop hello-app-1-retiring-0123456789ab: left over from an interrupted replacement (after 2)
             4. remove hello-app-1-retiring-0123456789ab: left over from an interrupted replacement (after 3)
            """, Plan(model, observed));
    }

    [Fact]
    public void A_probe_container_left_by_a_killed_build_is_removed_and_said_to_be_one()
    {
        // StackPublish's unstarted container for an image's user, and the nginx version probe: the proxy's labels, not its name,
        // made outside the stack lock longer ago than the builds that made them can still be using them.
        var model = Builders.Model(1);
        var made = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var probe = ContainerSpecs.UserProbe(model, Builders.AppImageId, made);
        var version = ContainerSpecs.NginxVersionProbe(model, Builders.ProxyImage, made);
        var observed = WithThrowaways(model, made + TimeSpan.FromSeconds(model.ReadyTimeoutSeconds) + ContainerSpecs.ThrowawayGrace, probe, version);
        Assert.True(observed.Containers[^1].BelongsTo("hello") && observed.Containers[^2].BelongsTo("hello"));
        var plan = Plan(model, observed).Plan.ToString();
        Assert.Contains($"remove {probe.Name}: left over from an interrupted build", plan);
        Assert.Contains($"remove {version.Name}: left over from an interrupted build", plan);
    }

    [Fact]
    public void A_throwaway_another_build_made_outside_the_stack_lock_is_left_to_it_until_its_time_has_passed()
    {
        // A StackPublish's user probe, a StackStatus's relay and another StackUp's version probe, made a second before this
        // StackUp listed them: the builds that made them are still using them, so the plan does not touch them (it would
        // otherwise remove them under their feet). The nginx -t check and a bring-up's relay are made under the lock: any this
        // StackUp sees is a killed build's, and goes.
        var model = Builders.Model(1);
        var made = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var user = ContainerSpecs.UserProbe(model, Builders.AppImageId, made);
        var version = ContainerSpecs.NginxVersionProbe(model, Builders.ProxyImage, made);
        var statusRelay = ContainerSpecs.ProbeRelay(model, Builders.ProxyImage, "token", made);
        var bringUpRelay = ContainerSpecs.ProbeRelay(model, Builders.ProxyImage, "token", null);
        var check = ContainerSpecs.ConfigCheck(ContainerSpecs.Proxy(model, Builders.ProxyImage, Builders.ProxyImage, "hash"));
        var lastSecond = made + TimeSpan.FromSeconds(model.ReadyTimeoutSeconds) + ContainerSpecs.ThrowawayGrace - TimeSpan.FromSeconds(1);
        foreach (var at in new[] { made + TimeSpan.FromSeconds(1), lastSecond })
        {
            var plan = Plan(model, WithThrowaways(model, at, user, version, statusRelay, bringUpRelay, check)).Plan.ToString();
            Assert.DoesNotContain(user.Name, plan);
            Assert.DoesNotContain(version.Name, plan);
            Assert.DoesNotContain(statusRelay.Name, plan);
            Assert.Contains($"remove {bringUpRelay.Name}: left over from an interrupted build", plan);
            Assert.Contains($"remove {check.Name}: left over from an interrupted build", plan);
        }
        var later = Plan(model, WithThrowaways(model, lastSecond + TimeSpan.FromSeconds(1), user, version, statusRelay)).Plan.ToString();
        Assert.Contains($"remove {user.Name}: left over from an interrupted build", later);
        Assert.Contains($"remove {version.Name}: left over from an interrupted build", later);
        Assert.Contains($"remove {statusRelay.Name}: left over from an interrupted build", later);

        // A StackDown takes everything of the stack, throwaways in use included: it was asked to remove the stack.
        var teardown = Reconciler.PlanTeardown("hello", WithThrowaways(model, made, user)).ToString();
        Assert.Contains($"remove {user.Name}", teardown);
    }

    /// <summary>A running, up-to-date stack, plus <paramref name="throwaways"/> as the engine would list them, listed at <paramref name="at"/>.</summary>
    private static ObservedState WithThrowaways(StackModel model, DateTimeOffset at, params ContainerSpec[] throwaways)
    {
        var observed = Builders.Running(model, Config(model));
        return observed with
        {
            At = at,
            Containers = [.. observed.Containers, .. throwaways.Select((t, i) => new ObservedContainer(((char)('a' + i)).ToString().PadLeft(64, 'a'), t.Name, t.Labels, t.Name.Contains("-relay-", StringComparison.Ordinal)))],
        };
    }

    [Fact]
    public void A_container_with_our_name_but_not_our_labels_is_refused_and_never_touched()
    {
        var model = Builders.Model(2);
        var foreign = new ObservedContainer("f".PadLeft(64, 'f'), "hello-app-2", new Dictionary<string, string>(), true);
        var result = Plan(model, new ObservedState { Containers = [foreign], ImageIds = Builders.Images() });
        Assert.True(result.Plan.IsEmpty);
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal("STACK4001", d.Code);
        Assert.Contains("hello-app-2", d.Format());
    }

    [Fact]
    public void A_network_with_our_name_but_not_our_labels_is_refused()
    {
        var model = Builders.Model(1);
        var result = Plan(model, new ObservedState { Networks = [new ObservedNetwork("x", "hello-net", new Dictionary<string, string>())], ImageIds = Builders.Images() });
        Assert.Equal("STACK4002", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void A_busy_host_port_stops_a_fresh_bring_up_before_any_step()
    {
        var result = Plan(Builders.Model(1), new ObservedState { ImageIds = Builders.Images(), BusyHostPort = 8080 });
        Assert.True(result.Plan.IsEmpty);
        Assert.Equal("STACK4003", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void A_missing_app_image_is_refused()
    {
        var result = Plan(Builders.Model(1), new ObservedState());
        Assert.Equal("STACK2003", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void Teardown_removes_proxy_first_then_replicas_from_the_highest_then_the_network()
    {
        var model = Builders.Model(2);
        var observed = Builders.Running(model, Config(model));
        var foreign = new ObservedContainer("f".PadLeft(64, 'f'), "someone-else", new Dictionary<string, string>(), true);
        observed = observed with { Containers = [foreign, .. observed.Containers] };
        Assert.Equal("""
             1. stop hello-proxy: stack down
             2. remove hello-proxy: stack down (after 1)
             3. stop hello-app-2: stack down (after 2)
             4. remove hello-app-2: stack down (after 3)
             5. stop hello-app-1: stack down (after 2)
             6. remove hello-app-1: stack down (after 5)
             7. remove network hello-net: stack down (after 2,4,6)
            """.ReplaceLineEndings("\n").TrimEnd(), Reconciler.PlanTeardown("hello", observed).ToString());
    }

    [Fact]
    public void Teardown_takes_the_image_a_proxy_reloaded_in_place_still_ran_and_leaves_the_current_one()
    {
        var model = Builders.Model(1);
        var observed = Builders.Running(model, Config(model));
        var proxy = observed.Containers.Single(c => c.Role == StackLabels.RoleProxy);
        var superseded = observed with
        {
            Containers = [.. observed.Containers.Where(c => c != proxy), proxy with { Image = "sha256:old" }],
            ImageIds = new Dictionary<string, string> { ["proxystack/hello-proxy:latest"] = "sha256:new" },
        };
        var plan = Reconciler.PlanTeardown("hello", superseded).ToString();
        Assert.Contains("remove image sha256:old: its proxy's config was superseded (after 2)", plan);
        // The proxy runs the current image, or no image is tagged (nothing to tell a superseded one by): no image step.
        Assert.DoesNotContain("remove image", Reconciler.PlanTeardown("hello", superseded with { ImageIds = new Dictionary<string, string> { ["proxystack/hello-proxy:latest"] = "sha256:old" } }).ToString());
        Assert.DoesNotContain("remove image", Reconciler.PlanTeardown("hello", superseded with { ImageIds = new Dictionary<string, string>() }).ToString());
    }

    [Fact]
    public void App_hash_is_stable()
    {
        // Pinned: a change here recreates every user's replicas on upgrade. Change it only on purpose.
        var hash = Reconciler.AppHash(Builders.Model(), Builders.AppImageId);
        Assert.Equal("ca6e764558b29a01cbbfc6750e5e1caee5bbbf1fce76119fb0bf4b626cde5b7b", hash);
    }

    [Fact]
    public void App_hash_ignores_replica_count_and_follows_image_and_environment()
    {
        var a = Reconciler.AppHash(Builders.Model(1), "sha256:x");
        Assert.Equal(a, Reconciler.AppHash(Builders.Model(5), "sha256:x"));
        Assert.NotEqual(a, Reconciler.AppHash(Builders.Model(1), "sha256:y"));
        Assert.NotEqual(a, Reconciler.AppHash(Builders.Model(1) with { Environment = [new("A", "1")] }, "sha256:x"));
        Assert.NotEqual(a, Reconciler.AppHash(Builders.Model(1) with { AppPort = 5000 }, "sha256:x"));
    }

    [Fact]
    public void Proxy_hash_ignores_replicas_and_follows_base_image_and_publishing()
    {
        var a = Reconciler.ProxyHash(Builders.Model(1), "sha256:n");
        Assert.Equal(a, Reconciler.ProxyHash(Builders.Model(4), "sha256:n"));
        Assert.NotEqual(a, Reconciler.ProxyHash(Builders.Model(1), "sha256:m"));
        Assert.NotEqual(a, Reconciler.ProxyHash(Builders.Model(1) with { HostPort = 1 }, "sha256:n"));
        Assert.NotEqual(a, Reconciler.ProxyHash(Builders.Model(1) with { HostAddress = "0.0.0.0" }, "sha256:n"));
    }
}
