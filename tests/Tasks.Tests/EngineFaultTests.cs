using System.Net;
using System.Net.Sockets;
using System.Text;
using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.MSBuild;
using ProxyStack.Planning;
using ProxyStack.Proxy;
using Xunit;

using ProxyStack.IntegrationTests.Infrastructure;

namespace ProxyStack.Tests;

/// <summary>
/// The faults of the catalogue that a real engine will not produce on demand — a refused request, a failing image build,
/// a proxy that never answers, a configuration nginx rejects — played by the fake engine through the real tasks.
/// </summary>
public sealed class EngineFaultTests : IDisposable
{
    private readonly TaskScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void A_request_the_engine_refuses_is_STACK3002_naming_the_operation_and_the_reason()
    {
        var engine = new FakeEngine { ListFailure = new EngineRequestException("list containers", "permission denied", conflict: false) };
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        Assert.False(_scratch.Apply(Builders.Model(1), engine).Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK3002", error.Code);
        Assert.Contains("list containers", error.Message);
        Assert.Contains("permission denied", error.Message);
        // Refused at the first request of the bring-up (the listing), before any plan: besides the read-only requests that
        // overlap it (image ids), nothing was asked of the engine, and nothing changed.
        Assert.Equal("list hello", engine.Calls[0]);
        Assert.All(engine.Calls, c => Assert.Matches("^(list hello|inspect image [^ ]+)$", c));
    }

    [Fact]
    public void A_step_the_engine_refuses_mid_bring_up_is_STACK4007_and_what_it_created_is_removed_in_reverse()
    {
        using var replicas = new OkServer();
        var model = Builders.Model(2) with { AppPort = replicas.Port, HostPort = Ports.Free() };
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        engine.FailingCalls.Add("start hello-app-2");

        Assert.False(_scratch.Apply(model, engine).Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK4007", error.Code);
        Assert.Equal("Step 'start hello-app-2: missing' failed: refused by the test. Everything this bring-up created was removed and the stack is as it was.",
            error.Message.Replace("STACK4007: ", ""));
        Assert.Empty(engine.Containers);
        Assert.Empty(engine.Networks);
        // In reverse: the containers this run created, then the network it created first.
        var undo = engine.Calls.SkipWhile(c => c != "start hello-app-2").Skip(1).ToList();
        Assert.Contains("rm hello-app-2", undo);
        Assert.Contains("rm hello-app-1", undo);
        Assert.Equal("network rm hello-net", undo[^1]);
    }

    [Fact]
    public void A_failing_proxy_image_build_is_STACK2002_with_the_builder_output_and_starts_nothing()
    {
        var model = Builders.Model(1);
        var engine = new FakeEngine { BuildFailure = new EngineRequestException("build proxystack/hello-proxy:latest", "nginx: [emerg] unknown directive \"x\"", conflict: false) };
        engine.Images[model.NginxImage] = Builders.NginxId;
        var task = new BuildStackProxyImage { BuildEngine = _scratch.Build, ModelFile = _scratch.WriteModel(model), ConfigFile = _scratch.ConfigFile, ProxyImage = Builders.ProxyImage, BaseImageId = Builders.NginxId, Engine = engine };
        Assert.False(task.Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK2002", error.Code);
        Assert.Contains("unknown directive", error.Message);
        Assert.Empty(engine.Containers);
    }

    [Fact]
    public void A_proxy_that_never_answers_is_STACK4010_and_the_bring_up_is_rolled_back()
    {
        // Replicas answer (a tiny HTTP server stands in for them); nothing listens on the proxy's host port.
        using var replicas = new OkServer();
        var model = Builders.Model(2) with { AppPort = replicas.Port, HostPort = Ports.Free(), ReadyTimeoutSeconds = 1 };
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        engine.Images[model.NginxImage] = Builders.NginxId;

        Assert.False(_scratch.Apply(model, engine).Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK4010", error.Code);
        Assert.Contains("hello-proxy", error.Message);
        Assert.Empty(engine.Containers);
        Assert.Empty(engine.Networks);
    }

    [Fact]
    public void A_configuration_nginx_rejects_is_STACK4008_checked_beside_the_running_one_and_nothing_else_changes()
    {
        using var replicas = new OkServer();
        var model = Builders.Model(2) with { AppPort = replicas.Port };
        var engine = new FakeEngine { ExecResult = (1, "nginx: [emerg] invalid number of arguments in \"proxy_pass\""), Address = "127.0.0.1" };
        engine.Holding(Builders.Running(model, "the config nginx runs now"));

        Assert.False(_scratch.Apply(model, engine).Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK4008", error.Code);
        Assert.Contains("invalid number of arguments", error.Message);
        var exec = Assert.Single(engine.Execs);
        // The new file is tested with nginx -t before it replaces the running one.
        Assert.True(exec.IndexOf("nginx -t", StringComparison.Ordinal) < exec.IndexOf(" mv ", StringComparison.Ordinal), exec);
        // (The probe relay, which asked the replicas whether they are still ready, comes and goes.)
        Assert.DoesNotContain(engine.Calls, c => (c.StartsWith("rm ") || c.StartsWith("stop ") || c.StartsWith("create ")) && !c.Contains("-relay-"));
        Assert.Equal(3, engine.Containers.Count);
    }
}
