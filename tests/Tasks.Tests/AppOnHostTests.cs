using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>StackAppOnHost: the front project runs on the host, nginx and everything else in containers route to it.</summary>
public sealed class AppOnHostTests
{
    private static StackInput OnHost(string port = "") => Builders.ValidInput() with { StackName = "hello", AppOnHost = "true", AppOnHostPort = port };

    private static List<Diagnostics.Diagnostic> Errors(StackInput input) => StackModelBuilder.Build(input).Diagnostics.Where(d => d.IsError).ToList();

    [Fact]
    public void The_app_on_the_host_listens_on_the_port_after_nginxs_unless_told_and_has_no_replica()
    {
        var model = StackModelBuilder.Build(OnHost()).Model!;
        Assert.Equal(8081, model.AppOnHostPort);
        Assert.Equal(0, model.Replicas);
        Assert.Equal(0, model.ReplicaSets.Single().Replicas);
        Assert.Equal(5080, StackModelBuilder.Build(OnHost("5080")).Model!.AppOnHostPort);
        Assert.Equal(0, Builders.Model().AppOnHostPort);
        Assert.Equal("Stack 'hello': the app on this host (http://127.0.0.1:8081) behind nginx at http://127.0.0.1:8080", model.ListeningLine);
    }

    [Theory]
    [InlineData("host", "", "STACK1048")]
    [InlineData("link", "", "STACK1048")]
    [InlineData("bridge", "8080", "STACK1049")]
    [InlineData("bridge", "70000", "STACK1004")]
    [InlineData("bridge", "http", "STACK1004")]
    public void Bad_combinations_are_refused_with_their_codes(string mode, string port, string code)
    {
        var errors = Errors(OnHost(port) with { NetworkMode = mode });
        Assert.Contains(errors, e => e.Code == code);
        if (code == "STACK1004") Assert.Contains(errors, e => e.Format().Contains("StackAppOnHostPort"));
    }

    [Fact]
    public void StackAppOnHost_that_is_not_a_boolean_is_STACK1012()
    {
        var errors = Errors(Builders.ValidInput() with { AppOnHost = "yes please" });
        Assert.Contains(errors, e => e.Code == "STACK1012" && e.Format().Contains("StackAppOnHost"));
    }

    [Fact]
    public void Nginx_routes_the_front_to_the_host_gateway_and_the_proxy_gets_that_name_at_creation()
    {
        var model = StackModelBuilder.Build(OnHost()).Model! with { NginxVersion = "1.30.6" };
        var config = NginxConfigWriter.Write(model);
        Assert.Contains("server host.docker.internal:8081 max_fails=3 fail_timeout=5s;", config);
        Assert.DoesNotContain("hello-app-1", config);
        var proxy = ContainerSpecs.Proxy(model, Builders.ProxyImage, Builders.NginxId, "h");
        Assert.Equal(["host.docker.internal:host-gateway"], proxy.ExtraHosts);
        Assert.Empty(ContainerSpecs.Proxy(Builders.Model(), Builders.ProxyImage, Builders.NginxId, "h").ExtraHosts);
        // The entry is set at creation: switching to or from the host recreates the proxy.
        Assert.NotEqual(Reconciler.ProxyHash(Builders.Model(), Builders.NginxId), Reconciler.ProxyHash(model with { }, Builders.NginxId));
        // nginx is ready when it answers at all: the app on the host starts only after the bring-up.
        Assert.True(model.ProxyHealth.Passes(502));
        Assert.False(Builders.Model().ProxyHealth.Passes(502));
    }

    [Fact]
    public void Switching_a_running_stack_to_the_host_replaces_the_proxy_then_removes_the_app_replicas()
    {
        var inContainers = Builders.Model(replicas: 2);
        var observed = Builders.Running(inContainers, NginxConfigWriter.Write(inContainers));
        var model = StackModelBuilder.Build(OnHost() with { Replicas = "2" }).Model!;
        var result = Reconciler.Reconcile(model, observed, "", Builders.ProxyImage, NginxConfigWriter.Write(model));
        // The proxy is replaced first (it gets the host gateway at creation); the replicas go once the new one serves.
        Builders.AssertPlan("""
             1. check config hello-proxy: definition changed
             2. retire hello-proxy as hello-proxy-retiring-bbbbbbbbbbbb: definition changed (after 1)
             3. stop hello-proxy-retiring-bbbbbbbbbbbb: definition changed (after 2)
             4. create hello-proxy: definition changed (after 3)
             5. start hello-proxy: definition changed (after 4)
             6. wait proxy hello-proxy: definition changed (after 5)
             7. drain hello-proxy: let in-flight requests finish (after 6)
             8. stop hello-proxy-retiring-bbbbbbbbbbbb: replaced (after 7)
             9. remove hello-proxy-retiring-bbbbbbbbbbbb: replaced (after 8)
            10. stop hello-app-2: the app runs on this host (StackAppOnHost) (after 7)
            11. remove hello-app-2: the app runs on this host (StackAppOnHost) (after 10)
            12. stop hello-app-1: the app runs on this host (StackAppOnHost) (after 7)
            13. remove hello-app-1: the app runs on this host (StackAppOnHost) (after 12)
            """, result);
    }

    [Fact]
    public void A_taken_app_port_is_STACK4003_naming_StackAppOnHostPort_before_anything_changes()
    {
        var inContainers = Builders.Model(replicas: 2);
        var observed = Builders.Running(inContainers, NginxConfigWriter.Write(inContainers)) with { BusyAppOnHostPort = 8081 };
        var model = StackModelBuilder.Build(OnHost() with { Replicas = "2" }).Model!;
        var result = Reconciler.Reconcile(model, observed, "", Builders.ProxyImage, NginxConfigWriter.Write(model));
        Assert.Empty(result.Plan.Steps);
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal("STACK4003", error.Code);
        Assert.Contains("StackAppOnHostPort 8081 on 127.0.0.1", error.Format());
        // Free, the same change is planned.
        Assert.NotEmpty(Reconciler.Reconcile(model, observed with { BusyAppOnHostPort = 0 }, "", Builders.ProxyImage, NginxConfigWriter.Write(model)).Plan.Steps);
    }

    [Fact]
    public void The_app_is_told_where_to_listen_and_where_the_projects_are_through_nginx()
    {
        var model = StackModelBuilder.Build(OnHost() with { Projects = [new ProjectInput("api") { Path = "../Api/Api.csproj", Route = "/api" }] }).Model!;
        // Without a gateway of this machine (Docker Desktop: it is inside the VM) loopback only.
        Assert.Equal("--urls \"http://127.0.0.1:8081\" --ForwardedHeaders_Enabled=true --services:api:http:0=http://127.0.0.1:8080/api", StackNetworking.AppOnHostArguments(model, null));
        // With one (the docker0 bridge of a Linux engine), that address too, and never all interfaces.
        Assert.Equal("--urls \"http://127.0.0.1:8081;http://172.17.0.1:8081\" --ForwardedHeaders_Enabled=true", StackNetworking.AppOnHostArguments(model with { Projects = [] }, "172.17.0.1"));
        // The project's own setting (StackEnvironment) is left to it.
        Assert.Equal("--urls \"http://127.0.0.1:8081\"", StackNetworking.AppOnHostArguments(model with
        {
            Projects = [], Environment = [new(StackNetworking.ForwardedHeadersVariable, "false")],
        }, null));
    }

    [Theory]
    [InlineData("172.17.0.1", "172.17.0.0/16", "172.17.0.1")]
    [InlineData(null, "172.17.0.0/16", "172.17.0.1")] // an engine that lists only the subnet: the bridge driver's default
    [InlineData("", "10.88.0.0/16", "10.88.0.1")]
    [InlineData(null, "fd00::/64", null)]
    [InlineData("fd00::1", "fd00::/64", null)]
    [InlineData(null, "not a subnet", null)]
    [InlineData("garbage", "172.17.0.0/16", null)]
    public void The_host_gateway_is_the_bridges_gateway_or_its_subnets_first_address(string? gateway, string subnet, string? expected) =>
        Assert.Equal(expected, ProxyStack.Engine.DockerEngine.Ipv4Gateway(gateway, subnet));

    [Theory]
    [InlineData("HelloStack (debug)", true)]
    [InlineData("HelloStack (stack)", false)]
    [InlineData("Missing", false)]
    [InlineData("", false)]
    public void The_launch_profile_the_IDE_selected_can_put_the_app_on_the_host(string selected, bool onHost)
    {
        const string json = """
            { "profiles": {
                "HelloStack (stack)": { "commandName": "Project" },
                "HelloStack (debug)": { "commandName": "Project", "environmentVariables": { "StackAppOnHost": "true" } } } }
            """;
        Assert.Equal(onHost, LaunchProfiles.AppOnHost(json, selected));
        Assert.False(LaunchProfiles.AppOnHost("{ not json", selected));
        Assert.False(LaunchProfiles.AppOnHost(null, selected));
    }

    [Fact]
    public void On_a_rootless_engine_the_proxy_reaches_this_hosts_loopback_at_slirp4netns_address_and_the_change_recreates_it()
    {
        var model = StackModelBuilder.Build(OnHost()).Model!;
        var rootless = model with { EngineRootless = true };
        Assert.Equal(["host.docker.internal:10.0.2.2"], ContainerSpecs.Proxy(rootless, Builders.ProxyImage, Builders.NginxId, "h").ExtraHosts);
        Assert.Equal(["host.docker.internal:host-gateway"], ContainerSpecs.Proxy(model, Builders.ProxyImage, Builders.NginxId, "h").ExtraHosts);
        Assert.NotEqual(Reconciler.ProxyHash(model, Builders.NginxId), Reconciler.ProxyHash(rootless, Builders.NginxId));
        // The app listens on loopback, and on the gateway only where ApplyStack found it to be this machine's.
        Assert.Equal(["127.0.0.1"], StackNetworking.AppOnHostAddresses(null));
        Assert.Equal(["127.0.0.1", "172.17.0.1"], StackNetworking.AppOnHostAddresses("172.17.0.1"));
        // Bound where it is this machine's address, unless the engine is rootless (then it is the engine's own bridge).
        Assert.Equal("172.17.0.1", StackNetworking.LocalGateway(model, "172.17.0.1", _ => true));
        Assert.Null(StackNetworking.LocalGateway(model, "172.17.0.1", _ => false));
        Assert.Null(StackNetworking.LocalGateway(model, null, _ => true));
        Assert.Null(StackNetworking.LocalGateway(rootless, "172.17.0.1", _ => true));
    }

    /// <summary>A stack whose "proxy" is <paramref name="proxy"/> (on loopback), with the app on the host at a free port.</summary>
    private static StackModel ReachModel(OkServer proxy, int appPort) =>
        StackModelBuilder.Build(OnHost(appPort.ToString()) with { HostPort = proxy.Port.ToString() }).Model!;

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task The_reach_check_passes_when_the_request_through_the_proxy_arrives_where_the_app_will_listen()
    {
        var appPort = FreePort();
        var arrived = "";
        // A proxy that passes the request on to the app's address, as nginx does when it reaches the host.
        using var proxy = new OkServer(byPath: path =>
        {
            using var client = new System.Net.Sockets.TcpClient("127.0.0.1", appPort);
            var stream = client.GetStream();
            stream.Write(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: host.docker.internal\r\n\r\n"));
            var buffer = new byte[256];
            arrived = System.Text.Encoding.ASCII.GetString(buffer, 0, stream.Read(buffer));
            return "200 OK";
        });
        Assert.True(await Execution.AppOnHostReach.CheckAsync(ReachModel(proxy, appPort), ["127.0.0.1"], CancellationToken.None));
        // The stand-in answered as an app would, and closed: nginx keeps no connection to it.
        Assert.StartsWith("HTTP/1.1 204 No Content\r\nConnection: close", arrived);
        // And it let the port go for the app.
        var again = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, appPort);
        again.Start();
        again.Stop();
    }

    [Fact]
    public async Task The_reach_check_fails_when_nothing_arrives_and_says_nothing_when_the_port_is_taken()
    {
        var appPort = FreePort();
        // nginx that cannot reach the host answers 502 itself.
        using var proxy = new OkServer("502 Bad Gateway");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(await Execution.AppOnHostReach.CheckAsync(ReachModel(proxy, appPort), ["127.0.0.1"], CancellationToken.None));
        Assert.Single(proxy.Paths);
        // Taken (an app already running there, someone else's): the app's own start will say so.
        var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, appPort);
        taken.Start();
        try { Assert.Null(await Execution.AppOnHostReach.CheckAsync(ReachModel(proxy, appPort), ["127.0.0.1"], CancellationToken.None)); }
        finally { taken.Stop(); }
        Assert.Single(proxy.Paths);
    }

    [Fact]
    public void STACK4025_names_the_addresses_and_the_likely_cause_of_the_engine()
    {
        var model = StackModelBuilder.Build(OnHost()).Model!;
        Assert.Equal("STACK4025: Stack 'hello': nginx cannot reach the app on this host. A request through the proxy to host.docker.internal:8081 "
            + "(in its /etc/hosts: host-gateway) did not arrive where the app is to listen (127.0.0.1:8081, 172.17.0.1:8081): every request through "
            + "nginx would be a 502. A firewall on this machine most likely drops what the engine's containers send it (ufw, firewalld, an iptables "
            + "INPUT rule): allow TCP port 8081 from the engine's bridge networks, or run the app in containers (StackAppOnHost=false). The app was not "
            + "started; the stack's containers are up (`dotnet run` removes them as it ends).",
            Execution.AppOnHostReach.Unreachable(model, ["127.0.0.1", "172.17.0.1"]).Format());
        Assert.Equal("STACK4025: Stack 'hello': nginx cannot reach the app on this host. A request through the proxy to host.docker.internal:8081 "
            + "(in its /etc/hosts: 10.0.2.2) did not arrive where the app is to listen (127.0.0.1:8081): every request through nginx would be a 502. "
            + "The engine runs rootless: its containers reach this machine's loopback at 10.0.2.2 only when its network (slirp4netns) lets them — for "
            + "rootless Docker, start the daemon with DOCKERD_ROOTLESS_ROOTLESSKIT_DISABLE_HOST_LOOPBACK=false in its environment (Docker 23 and later; "
            + "Docker 20.10's dockerd-rootless.sh always passes --disable-host-loopback to rootlesskit), for rootless Podman with network_cmd_options = "
            + "[\"allow_host_loopback=true\"] in containers.conf. Or run the app in containers (StackAppOnHost=false). The app was not started; the "
            + "stack's containers are up (`dotnet run` removes them as it ends).",
            Execution.AppOnHostReach.Unreachable(model with { EngineRootless = true }, ["127.0.0.1"]).Format());
    }
}
