using ProxyStack.Manifests;
using ProxyStack.Model;
using ProxyStack.Proxy;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>StackDeploy's pure core: the Swarm service specs and what stops a deploy.</summary>
public sealed class SwarmServiceTests
{
    private static StackModel Model(string mode = "bridge", string address = "127.0.0.1")
    {
        var input = Builders.ValidInput() with
        {
            StackName = "hello", SharedKeys = "true", NetworkMode = mode, HostAddress = address,
            Projects = mode == "bridge" ? [new ProjectInput("api") { Path = "../Api/Api.csproj", Route = "/api", Replicas = "2" }] : [],
            Containers = mode == "bridge" ? [new ServiceInput("db") { Image = "postgres:15", Environment = "POSTGRES_PASSWORD=dev", Volume = "db-data:/var/lib/postgresql/data", HostPort = "5432" }] : [],
        };
        return StackModelBuilder.Build(input).Model! with { NginxVersion = "1.30.6" };
    }

    private const string ApiImage = "localhost:5000/hello-api-app:ba9876543210";

    private static IReadOnlyList<Docker.DotNet.Models.ServiceSpec> Specs(StackModel model, params string[] imagesWithoutShell)
    {
        var published = StackWorkloads.ForTarget(model, StackTargets.Swarm);
        var workloads = StackWorkloads.Build(published, "localhost:5000/hello-app:0123456789ab", new Dictionary<string, string> { ["api"] = ApiImage });
        return SwarmServices.Specs(published, workloads, "cfg1", "hello-nginx-abc", imagesWithoutShell.ToHashSet());
    }

    [Fact]
    public void An_image_without_a_shell_loses_only_its_own_replica_sets_health_check()
    {
        var specs = Specs(Model(), ApiImage);
        Assert.Null(specs.Single(s => s.Name == "hello-api-app").TaskTemplate.ContainerSpec.Healthcheck);
        Assert.Equal("CMD", specs.Single(s => s.Name == "hello-app").TaskTemplate.ContainerSpec.Healthcheck.Test[0]);
    }

    [Fact]
    public void Every_service_is_labelled_as_the_stacks_and_the_replicas_roll_start_first_with_a_health_check_and_rollback()
    {
        var specs = Specs(Model());
        Assert.Equal(["hello-db", "hello-app", "hello-api-app", "hello-proxy"], specs.Select(s => s.Name));
        Assert.All(specs, s => Assert.Equal("hello", s.Labels[SwarmServices.StackLabel]));
        // Ownership is on the service, never on its task containers (which this machine's StackDown would otherwise see).
        Assert.All(specs, s => Assert.True(s.TaskTemplate.ContainerSpec.Labels is null || !s.TaskTemplate.ContainerSpec.Labels.ContainsKey("proxystack.stack")));
        Assert.All(specs, s => Assert.Equal("dnsrr", s.EndpointSpec.Mode));
        Assert.All(specs, s => Assert.Equal("hello-swarm", s.TaskTemplate.Networks.Single().Target));
        var app = specs.Single(s => s.Name == "hello-app");
        Assert.Equal(3UL, app.Mode.Replicated.Replicas);
        Assert.Equal(("start-first", "rollback"), (app.UpdateConfig.Order, app.UpdateConfig.FailureAction));
        Assert.Equal("CMD", app.TaskTemplate.ContainerSpec.Healthcheck.Test[0]);
        Assert.Contains("GET / HTTP/1.0", app.TaskTemplate.ContainerSpec.Healthcheck.Test[3]);
        Assert.Equal(["ALL"], app.TaskTemplate.ContainerSpec.CapabilityDrop);
        // No shared key ring on Swarm (a volume per node, nothing to hand it to the app's user): no LOCALAPPDATA, no mount.
        Assert.Empty(app.TaskTemplate.ContainerSpec.Mounts);
        Assert.DoesNotContain(app.TaskTemplate.ContainerSpec.Env, e => e.StartsWith("LOCALAPPDATA=", StringComparison.Ordinal));
        Assert.Contains("services__api__http__0=http://api:8080", app.TaskTemplate.ContainerSpec.Env);

        var db = specs.Single(s => s.Name == "hello-db");
        Assert.Equal(["db"], db.TaskTemplate.Networks.Single().Aliases);
        Assert.Equal("stop-first", db.UpdateConfig.Order);
        Assert.Equal([SwarmServices.VolumeConstraint], db.TaskTemplate.Placement.Constraints);
        Assert.Equal("hello-db-data", db.TaskTemplate.ContainerSpec.Mounts.Single().Source);
        // A database is never published on Swarm, whose published ports are on every address of every node.
        Assert.Empty(db.EndpointSpec.Ports);

        var proxy = specs.Single(s => s.Name == "hello-proxy");
        Assert.NotNull(proxy.Mode.Global);
        Assert.Equal(["api"], proxy.TaskTemplate.Networks.Single().Aliases);
        var port = proxy.EndpointSpec.Ports.Single();
        Assert.Equal((8080U, 8080U, "host"), (port.PublishedPort!.Value, port.TargetPort!.Value, port.PublishMode));
        var config = proxy.TaskTemplate.ContainerSpec.Configs.Single();
        Assert.Equal(("cfg1", "hello-nginx-abc", "/etc/proxystack/nginx.conf"), (config.ConfigID, config.ConfigName, config.File.Name));
        Assert.Equal((true, "65534:65534"), (proxy.TaskTemplate.ContainerSpec.ReadOnly!.Value, proxy.TaskTemplate.ContainerSpec.User));
    }

    [Fact]
    public void nginx_reaches_each_replica_set_through_its_tasks_names_and_the_spec_digest_changes_only_with_the_spec()
    {
        var config = NginxConfigWriter.Write(StackWorkloads.ForTarget(Model(), StackTargets.Swarm));
        Assert.Contains("server tasks.hello-app:8080 resolve max_fails=3", config);
        Assert.Contains("server tasks.hello-api-app:8080 resolve max_fails=3", config);
        Assert.Equal(Specs(Model()).Select(s => s.Labels[SwarmServices.SpecHashLabel]), Specs(Model()).Select(s => s.Labels[SwarmServices.SpecHashLabel]));
        var more = Model() with { Replicas = 5 };
        Assert.NotEqual(Specs(Model())[1].Labels[SwarmServices.SpecHashLabel], Specs(more)[1].Labels[SwarmServices.SpecHashLabel]);
        Assert.Equal(Specs(Model())[0].Labels[SwarmServices.SpecHashLabel], Specs(more)[0].Labels[SwarmServices.SpecHashLabel]);
        Assert.Equal("hello-nginx-" + SwarmServices.Digest(config)[..12], SwarmServices.ConfigName(Model(), config));
        Assert.Equal("localhost:5000/hello-app:3f1c0a9b2d4e", SwarmServices.PushedImage("localhost:5000/", Model(), "app", "sha256:3f1c0a9b2d4e5f60718293a4b5c6d7e8f9"));
    }

    [Fact]
    public void A_network_mode_Swarm_has_not_is_STACK1055_and_a_loopback_address_is_warned_about_with_STACK1056()
    {
        Assert.Equal(["STACK1055: StackNetworkMode is 'host', which Swarm cannot run: its services meet on an overlay network of the stack's own. Remove StackNetworkMode (bridge) for StackDeploy.",
                      "STACK1056: Swarm publishes nginx's port 8080 on every address of every node (its routing mesh binds no single address), not on StackHostAddress 127.0.0.1: the stack is reachable from the network. Firewall the port, or set StackHostAddress=0.0.0.0 to acknowledge it."],
            StackWorkloads.Check(Model("host"), StackTargets.Swarm).Select(d => d.Format()));
        Assert.Empty(StackWorkloads.Check(Model(address: "0.0.0.0"), StackTargets.Swarm));
    }
}
