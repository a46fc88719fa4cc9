using System.Security.Cryptography;
using System.Text;
using ProxyStack.Engine;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>The engine is found as the docker CLI finds it: DOCKER_HOST, the context, then well-known sockets.</summary>
public sealed class EngineEndpointTests
{
    private const string Home = "/home/dev";
    private readonly Dictionary<string, string> _env = new() { ["XDG_RUNTIME_DIR"] = "/run/user/1000" };
    private readonly Dictionary<string, string> _files = [];
    private readonly HashSet<string> _paths = [];

    private EngineEndpoint.Machine Machine(bool windows = false) => new(
        name => _env.GetValueOrDefault(name), path => _paths.Contains(path) || _files.ContainsKey(path), path => _files.GetValueOrDefault(path), Home, windows);

    private static string Id(string context) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(context))).ToLowerInvariant();

    /// <summary>A context as `docker context create NAME --docker host=ENDPOINT` stores it.</summary>
    private void Context(string name, string endpoint, string config = Home + "/.docker") =>
        _files[$"{config}/contexts/meta/{Id(name)}/meta.json"] = System.Text.Json.JsonSerializer.Serialize(new
        {
            Name = name, Metadata = new { }, Endpoints = new { docker = new { Host = endpoint, SkipTLSVerify = false } },
        });

    [Fact]
    public void DOCKER_HOST_wins_over_the_context_and_the_sockets()
    {
        _env["DOCKER_HOST"] = "tcp://127.0.0.1:2375";
        _env["DOCKER_CONTEXT"] = "colima";
        Context("colima", "unix:///home/dev/.colima/default/docker.sock");
        var choice = EngineEndpoint.Resolve(null, Machine());
        Assert.Equal("tcp://127.0.0.1:2375/", choice.Uri.ToString());
        Assert.Equal("DOCKER_HOST", choice.Source);
    }

    [Fact]
    public void DOCKER_CONTEXT_is_read_from_the_context_store()
    {
        _env["DOCKER_CONTEXT"] = "colima";
        Context("colima", "unix:///home/dev/.colima/default/docker.sock");
        var choice = EngineEndpoint.Resolve(null, Machine());
        Assert.Equal("unix:///home/dev/.colima/default/docker.sock", choice.Uri.ToString());
        Assert.Equal("context 'colima' (DOCKER_CONTEXT)", choice.Source);
    }

    [Fact]
    public void The_CLI_configs_current_context_is_used_from_DOCKER_CONFIG()
    {
        _env["DOCKER_CONFIG"] = "/etc/ci-docker";
        _files["/etc/ci-docker/config.json"] = """{"auths":{},"currentContext":"desktop-linux"}""";
        Context("desktop-linux", "unix:///home/dev/.docker/desktop/docker.sock", "/etc/ci-docker");
        var choice = EngineEndpoint.Resolve(null, Machine());
        Assert.Equal("unix:///home/dev/.docker/desktop/docker.sock", choice.Uri.ToString());
        Assert.StartsWith("context 'desktop-linux' (currentContext in /etc/ci-docker/config.json)", choice.Source);
    }

    [Fact]
    public void The_default_context_and_an_unreadable_config_fall_back_to_the_sockets()
    {
        _paths.Add("/var/run/docker.sock");
        _files[Home + "/.docker/config.json"] = """{"currentContext":"default"}""";
        Assert.Equal("unix:///var/run/docker.sock", EngineEndpoint.Resolve(null, Machine()).Uri.ToString());
        _files[Home + "/.docker/config.json"] = "not json";
        Assert.Equal("unix:///var/run/docker.sock", EngineEndpoint.Resolve(null, Machine()).Uri.ToString());
    }

    [Theory]
    [InlineData("missing", "does not exist")]
    [InlineData("remote", "ssh:// endpoints are not supported")]
    [InlineData("tls", "TLS client certificates")]
    public void A_context_ProxyStack_cannot_use_is_an_endpoint_error_naming_it(string name, string reason)
    {
        _env["DOCKER_CONTEXT"] = name;
        Context("remote", "ssh://dev@build-host");
        Context("tls", "tcp://build-host:2376");
        _paths.Add($"{Home}/.docker/contexts/tls/{Id("tls")}/docker");
        var e = Assert.Throws<EngineEndpointException>(() => EngineEndpoint.Resolve(null, Machine()));
        // As every task reports it: STACK3004, naming the context and what to do.
        var message = ProxyStack.Diagnostics.Diagnostic.Error(nameof(ProxyStack.Resources.Strings.EngineEndpointInvalid), e.Endpoint, e.Reason).Format();
        Assert.StartsWith("STACK3004: ", message);
        Assert.Contains($"context '{name}'", message);
        Assert.Contains(reason, message);
    }

    [Fact]
    public void Without_configuration_the_first_well_known_socket_that_exists_is_used_Docker_Desktop_first()
    {
        _paths.UnionWith(["/var/run/docker.sock", Home + "/.docker/run/docker.sock", "/run/user/1000/podman/podman.sock"]);
        var choice = EngineEndpoint.Resolve(null, Machine());
        Assert.Equal($"unix://{Home}/.docker/run/docker.sock", choice.Uri.ToString());
        Assert.Equal("Docker Desktop's socket", choice.Source);

        _paths.Remove(Home + "/.docker/run/docker.sock");
        Assert.Equal("unix:///var/run/docker.sock", EngineEndpoint.Resolve(null, Machine()).Uri.ToString());
        // With LocalRegistry=Podman the SDK loads the image into Podman's storage: Podman's socket comes first.
        Assert.Equal("unix:///run/user/1000/podman/podman.sock", EngineEndpoint.Resolve(null, Machine(), preferPodman: true).Uri.ToString());

        _paths.Remove("/var/run/docker.sock");
        var podman = EngineEndpoint.Resolve(null, Machine());
        Assert.Equal("unix:///run/user/1000/podman/podman.sock", podman.Uri.ToString());
        Assert.Equal("Podman's rootless socket", podman.Source);
    }

    [Fact]
    public void When_no_socket_exists_the_default_is_named_with_everything_looked_for()
    {
        var choice = EngineEndpoint.Resolve(null, Machine());
        Assert.Equal("unix:///var/run/docker.sock", choice.Uri.ToString());
        Assert.Equal([$"{Home}/.docker/run/docker.sock", $"{Home}/.docker/desktop/docker.sock", "/var/run/docker.sock",
            "/run/user/1000/podman/podman.sock", "/run/podman/podman.sock"], choice.Tried);
    }

    [Fact]
    public async Task The_real_adapter_says_what_it_looked_for_when_no_engine_socket_exists()
    {
        // Only the real adapter reads the machine; an explicit missing socket is named as such.
        using var engine = new DockerEngine("unix:///tmp/proxystack-no-such.sock");
        var e = await Assert.ThrowsAsync<EngineUnavailableException>(() => engine.PingAsync(CancellationToken.None));
        Assert.Contains("the socket of DockerHost does not exist", e.Reason);
    }
}
