using ProxyStack.Model;
using Xunit;

using ProxyStack.IntegrationTests.Infrastructure;

namespace ProxyStack.Tests;

/// <summary>Readiness that fits the app without configuration (StackHealthPath empty) and says early when a set path is not served.</summary>
public sealed class HealthProbeTests : IDisposable
{
    private readonly TaskScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private static StackModel Model(string healthPath, string? discovered = null) =>
        StackModelBuilder.Build(Builders.ValidInput() with { HealthPath = healthPath, DiscoveredHealthPath = discovered }).Model!;

    [Fact]
    public void Without_StackHealthPath_any_answer_below_500_on_slash_means_ready()
    {
        var health = Model("").Health;
        Assert.Equal(new HealthProbe("/", Strict: false), health);
        Assert.True(health.Passes(404));
        Assert.True(health.Passes(200));
        Assert.False(health.Passes(500));
        Assert.False(health.Passes(502));
    }

    [Fact]
    public void A_set_StackHealthPath_or_the_apps_own_health_checks_need_2xx_or_3xx()
    {
        Assert.Equal(new HealthProbe("/ready", Strict: true), Model("/ready").Health);
        Assert.False(Model("/ready").Health.Passes(404));
        Assert.True(Model("/ready").Health.Passes(302));
        // Found in the code: app.MapHealthChecks("/healthz"). A set path wins; a found path nginx could not take is ignored.
        Assert.Equal("/healthz", HealthChecks.Discover(["var app = builder.Build();\napp.MapHealthChecks( \"/healthz\");"]));
        Assert.Null(HealthChecks.Discover(["app.MapHealthChecks(path);"]));
        // F#: a method may be called with its argument after a space, with or without parentheses.
        Assert.Equal("/healthz", HealthChecks.Discover(["app.MapHealthChecks \"/healthz\" |> ignore"]));
        Assert.Equal("/live", HealthChecks.Discover(["app.MapHealthChecks (\"/live\") |> ignore"]));
        Assert.Null(HealthChecks.Discover(["app.MapHealthChecks path |> ignore"]));
        Assert.Equal(new HealthProbe("/healthz", Strict: true), Model("", "/healthz").Health);
        Assert.Equal(new HealthProbe("/ready", Strict: true), Model("/ready", "/healthz").Health);
        Assert.Equal(new HealthProbe("/", Strict: false), Model("", "/a b").Health);
    }

    [Fact]
    public void A_replica_that_answers_its_set_path_with_404_fails_with_STACK4017_long_before_the_timeout()
    {
        using var replica = new OkServer("404 Not Found");
        var model = Model("/healthz") with { AppPort = replica.Port, HostPort = Ports.Free(), Replicas = 1, ReadyTimeoutSeconds = 120 };
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Images[Builders.AppImage] = Builders.AppImageId;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(_scratch.Apply(model, engine).Execute());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK4017", error.Code);
        Assert.Equal("Replica 'hellostack-app-1' is up but answers GET /healthz with HTTP 404 NotFound (through the probe relay), unchanged for 10 s: the app serves nothing at StackHealthPath, and waiting will not change that. Set StackHealthPath to a path the app answers with 2xx or 3xx (its health checks, e.g. app.MapHealthChecks(\"/healthz\") and StackHealthPath=/healthz), or leave StackHealthPath empty to accept any answer below 500. Everything this bring-up created was removed and the stack is as it was.",
            error.Message);
        Assert.Empty(engine.Containers);
    }

    [Fact]
    public void A_replica_that_started_listening_only_on_loopback_fails_with_STACK4023_naming_its_address_long_before_the_timeout()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var model = Model("") with { AppPort = port, HostPort = Ports.Free(), Replicas = 1, ReadyTimeoutSeconds = 120 };
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        engine.Logs["hellostack-app-1"] = "info: Microsoft.Hosting.Lifetime[14]\n      Now listening on: http://localhost:5000\n      Now listening on: http://[::]:5001\n"
            + "info: Microsoft.Hosting.Lifetime[0]\n      Application started. Press Ctrl+C to shut down.";

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(_scratch.Apply(model, engine).Execute());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK4023", error.Code);
        Assert.Equal($"Replica 'hellostack-app-1' started but listens only on http://localhost:5000, http://[::]:5001, where nginx cannot reach it: ProxyStack sends requests to port {port} on the container's network address (StackAppPort; the container's ASPNETCORE_HTTP_PORTS says the same). The app's code or configuration names its own address — app.Run(url), UseUrls, a Kestrel:Endpoints entry in appsettings*.json, or ASPNETCORE_URLS. Remove it so the container's port applies, or listen on http://+:{port}, or set the port it listens on, 5001, as StackAppPort (a StackProject's AppPort). Everything this bring-up created was removed and the stack is as it was.",
            error.Message);
        Assert.Empty(engine.Containers);
    }

    [Fact]
    public void A_background_replica_whose_host_never_says_it_started_is_STACK4024_saying_what_it_waits_for()
    {
        using var replica = new OkServer();
        var model = Model("") with
        {
            AppPort = replica.Port, HostPort = Ports.Free(), Replicas = 1, ReadyTimeoutSeconds = 1,
            Projects = [new AppProject { Name = "jobs", Route = "" }],
        };
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        engine.Images["jobs:latest"] = "sha256:jobs";
        engine.Logs["hellostack-jobs-1"] = "info: Microsoft.Hosting.Lifetime[0]\n      Hosting environment: Production";
        var apply = _scratch.Apply(model, engine);
        apply.ProjectImages = [new Microsoft.Build.Utilities.TaskItem("jobs", new Dictionary<string, string> { ["Image"] = "jobs:latest" })];
        Assert.False(apply.Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.True(error.Code == "STACK4024", error.Message);
        Assert.Equal("Replica 'hellostack-jobs-1' of a StackProject without Route did not write \"Application started.\" within 1 s (last result: no \"Application started.\" in its output yet (the .NET host logs it at Information once every hosted service has started)). Its last log lines:\n"
            + "    | info: Microsoft.Hosting.Lifetime[0]\n    |       Hosting environment: Production\n"
            + "It is ready once its .NET host has started every hosted service: check that each hosted service's StartAsync returns (long-running work belongs in ExecuteAsync) and that Microsoft.Hosting.Lifetime logs at Information, or raise StackReadyTimeout. Everything this bring-up created was removed and the stack is as it was.",
            error.Message);
        Assert.Empty(engine.Containers);
    }

    [Fact]
    public void Without_StackHealthPath_a_replica_that_answers_404_on_slash_is_ready()
    {
        using var replica = new OkServer("404 Not Found");
        var model = Model("") with { AppPort = replica.Port, HostPort = Ports.Free(), Replicas = 1 };
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        // The replica is ready; the proxy (fake: nothing listens on the host port) is what fails, after the replica passed.
        Assert.False(_scratch.Apply(model with { ReadyTimeoutSeconds = 2 }, engine).Execute());
        Assert.Equal("STACK4010", Assert.Single(_scratch.Build.Errors).Code);
    }
}
