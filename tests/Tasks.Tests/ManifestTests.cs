using ProxyStack.Diagnostics;
using ProxyStack.Manifests;
using ProxyStack.Model;
using ProxyStack.Proxy;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace ProxyStack.Tests;

/// <summary>
/// StackPublish's pure core: what stops a stack from being written out, the workloads every format shares, and the compose
/// file and Kubernetes manifests themselves (golden files; PROXYSTACK_UPDATE_GOLDEN=1 rewrites them from the code).
/// </summary>
public sealed class ManifestTests
{
    private const string SecretValue = "p4ss$word";

    /// <summary>The whole application: 3 replicas of the front project, an API at /api with 2, Postgres with a volume, a shared
    /// key ring, and a secret setting of the front project (as StackSecrets leaves the model once it read it).</summary>
    private static StackModel Model(string name = "hello", string nginx = "1.30.6", int httpsPort = 0)
    {
        var input = Builders.ValidInput() with
        {
            StackName = name,
            SharedKeys = "true",
            HttpsPort = httpsPort > 0 ? httpsPort.ToString() : "",
            Projects = [new ProjectInput("api") { Path = "../Api/Api.csproj", Route = "/api", Replicas = "2" }],
            Containers = [new ServiceInput("db") { Image = "postgres:15", Environment = "POSTGRES_PASSWORD=dev;POSTGRES_DB=shop", Volume = "db-data:/var/lib/postgresql/data" }],
        };
        var result = StackModelBuilder.Build(input);
        Assert.True(result.Model is not null, string.Join("\n", result.Diagnostics.Select(d => d.Format())));
        var model = result.Model! with { NginxVersion = nginx };
        return model with
        {
            Environment = [.. model.Environment, new("Payments__Key", SecretValue), new("Greeting", "hi $USER")],
            SecretNames = new HashSet<string> { "Payments__Key" },
        };
    }

    private static readonly Dictionary<string, string> ProjectImages = new() { ["api"] = "registry.example.com/hello-api:1.0" };

    /// <summary>The users the images run as, as <see cref="Execution.ImageUser"/> reads them: the API's is another one.</summary>
    private static readonly Dictionary<string, (int, int)> ImageUsers = new()
    {
        ["registry.example.com/hello:1.0"] = (1654, 1654),
        ["registry.example.com/hello-api:1.0"] = (1000, 1000),
    };

    private static (StackModel Published, IReadOnlyList<Workload> Workloads) Publish(StackModel model, string target)
    {
        var published = StackWorkloads.ForTarget(model, target);
        return (published, StackWorkloads.Build(published, "registry.example.com/hello:1.0", ProjectImages));
    }

    [Fact]
    public void The_compose_file_and_its_nginx_config_match_the_golden_files()
    {
        var (published, workloads) = Publish(Model(), StackTargets.Compose);
        GoldenFiles.AssertMatches("compose.yaml", ComposeFile.Write(published, workloads, ImageUsers));
        GoldenFiles.AssertMatches("nginx.compose.conf", NginxConfigWriter.Write(published));
        Assert.Equal($"Payments__Key={SecretValue}\n", ComposeFile.SecretsFile(workloads.Single(w => w.Name == "app")));
    }

    [Fact]
    public void The_kubernetes_manifests_match_the_golden_files()
    {
        var (published, workloads) = Publish(Model(), StackTargets.Kubernetes);
        var config = NginxConfigWriter.Write(published);
        GoldenFiles.AssertMatches("kubernetes.stack.yaml", KubernetesManifests.Serialize(published, KubernetesManifests.Objects(published, workloads, config), "the stack"));
        GoldenFiles.AssertMatches("kubernetes.secrets.yaml", KubernetesManifests.Serialize(published, KubernetesManifests.Secrets(published, workloads), "its secret settings"));
    }

    [Fact]
    public void Every_workload_keeps_the_stacks_wiring_and_nginx_reaches_each_replica_set_by_its_service()
    {
        var (published, workloads) = Publish(Model(), StackTargets.Compose);
        Assert.Equal(["db", "app", "api-app", "proxy"], workloads.Select(w => w.Name));
        var app = workloads.Single(w => w.Name == "app");
        Assert.Equal(3, app.Replicas);
        Assert.Equal("registry.example.com/hello:1.0", app.Image);
        // The same settings a replica gets from StackUp: its port, the API's address through nginx, the database's connection
        // string, the key ring's location; the secret only among the secrets.
        Assert.Contains(new KeyValuePair<string, string>("services__api__http__0", "http://api:8080"), app.Environment);
        Assert.Contains(app.Environment, e => e.Key == "ConnectionStrings__db" && e.Value.Contains("Host=db"));
        Assert.DoesNotContain(app.Environment, e => e.Key == "Payments__Key");
        Assert.Equal([new("Payments__Key", SecretValue)], app.Secrets);
        Assert.Equal(["db"], app.DependsOn);
        Assert.Equal("registry.example.com/hello-api:1.0", workloads.Single(w => w.Name == "api-app").Image);
        // The volume is scoped by the target (a compose project, a namespace): no stack prefix.
        Assert.Equal([new ServiceVolume("db-data", "/var/lib/postgresql/data")], workloads.Single(w => w.Name == "db").Volumes);
        var proxy = workloads.Single(w => w.Kind == WorkloadKind.Proxy);
        Assert.Equal(["api"], proxy.Aliases);
        Assert.Equal([(8080, 8080)], proxy.Publish);

        var compose = NginxConfigWriter.Write(published);
        Assert.Contains("server app:8080 resolve max_fails=3", compose);
        Assert.Contains("server api-app:8080 resolve max_fails=3", compose);
        Assert.Contains($"include {NginxConfigWriter.ResolverPath};", compose);
        var kubernetes = NginxConfigWriter.Write(Publish(Model(), StackTargets.Kubernetes).Published);
        Assert.Contains("server app:8080 max_fails=3", kubernetes);
        Assert.DoesNotContain(" resolve", kubernetes);
        Assert.DoesNotContain("include", kubernetes);
    }

    [Fact]
    public void The_compose_file_reads_back_as_written_with_every_dollar_escaped_and_no_secret()
    {
        var (published, workloads) = Publish(Model(), StackTargets.Compose);
        var text = ComposeFile.Write(published, workloads, ImageUsers);
        Assert.DoesNotContain(SecretValue, text);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(text));
        var services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
        var app = (YamlMappingNode)services["app"];
        Assert.Equal("3", ((YamlScalarNode)((YamlMappingNode)app["deploy"])["replicas"]).Value);
        // Compose interpolates '$': a literal dollar is written '$$'.
        Assert.Equal("hi $$USER", ((YamlScalarNode)((YamlMappingNode)app["environment"])["Greeting"]).Value);
        Assert.Equal(["app.secrets.env"], ((YamlSequenceNode)app["env_file"]).Select(n => ((YamlScalarNode)n).Value));
        // The replicas start once the key ring's volume belongs to their user.
        Assert.Equal("service_completed_successfully", ((YamlScalarNode)((YamlMappingNode)((YamlMappingNode)app["depends_on"])[ComposeFile.KeysOwnerService])["condition"]).Value);
        Assert.Equal(["127.0.0.1:8080:8080"], ((YamlSequenceNode)((YamlMappingNode)services["proxy"])["ports"]).Select(n => ((YamlScalarNode)n).Value));
    }

    [Fact]
    public void Each_key_ring_is_given_to_the_user_its_own_replicas_image_runs_as()
    {
        var (published, workloads) = Publish(Model(), StackTargets.Compose);
        Assert.Equal(["registry.example.com/hello:1.0", "registry.example.com/hello-api:1.0"], ComposeFile.RingImages(workloads));
        var owner = Service(ComposeFile.Write(published, workloads, ImageUsers), ComposeFile.KeysOwnerService);
        Assert.Equal(["sh", "-c", "chown 1654:1654 /keys && chown 1000:1000 /keys-api && chmod 0700 /keys /keys-api"],
            ((YamlSequenceNode)owner["entrypoint"]).Select(n => ((YamlScalarNode)n).Value));
        // One user for both: one chown.
        var same = Service(ComposeFile.Write(published, workloads, new Dictionary<string, (int, int)>
        {
            ["registry.example.com/hello:1.0"] = (1000, 0), ["registry.example.com/hello-api:1.0"] = (1000, 0),
        }), ComposeFile.KeysOwnerService);
        Assert.Equal("chown 1000:0 /keys /keys-api && chmod 0700 /keys /keys-api", ((YamlScalarNode)((YamlSequenceNode)same["entrypoint"])[2]).Value);
        // A ring whose image's user was not read is a bug of the caller, never a guess.
        Assert.Throws<ArgumentException>(() => ComposeFile.Write(published, workloads, new Dictionary<string, (int, int)> { ["registry.example.com/hello:1.0"] = (1654, 1654) }));
    }

    [Theory]
    [InlineData("1000:1000", true, "chown 1654:1654 /keys && chown 1000:1000 /keys-api && chmod 0700 /keys /keys-api")]
    [InlineData("ghost", false, "STACK3002: The Docker engine at 'fake://engine' refused 'read the user of sha256:api': its user 'ghost' is not in its /etc/passwd or /etc/group; set ContainerUser to a user the image has")]
    public void StackPublish_for_compose_asks_each_rings_image_by_id_for_its_user_and_writes_nothing_when_one_is_unknown(string apiUser, bool written, string expected)
    {
        using var scratch = new TaskScratch();
        var engine = new FakeEngine();
        engine.ImageUsers["sha256:app"] = "1654";
        engine.ImageUsers["sha256:api"] = apiUser;
        engine.ImageFiles["sha256:app:/etc/passwd"] = "app:x:1654:1654::/home/app:/bin/sh\n";
        engine.ImageFiles["sha256:api:/etc/passwd"] = "root:x:0:0::/root:/bin/sh\n";
        var output = Path.Combine(scratch.Dir, "compose");
        var task = new MSBuild.PublishStackManifests
        {
            BuildEngine = scratch.Build, Engine = engine, ModelFile = scratch.WriteModel(Model()), Target = "compose", NginxVersion = "1.30.6",
            AppImage = "hello:latest", AppImageId = "sha256:app", OutputDirectory = output,
            ProjectImages = [new Microsoft.Build.Utilities.TaskItem("api", new Dictionary<string, string> { ["Reference"] = "hello-api:latest", ["Image"] = "sha256:api" })],
        };
        Assert.Equal(written, task.Execute());
        // Asked by id, never by the tag, which a concurrent build may have moved; every container made for it is gone.
        Assert.DoesNotContain(engine.Calls, c => c.Contains(":latest", StringComparison.Ordinal));
        Assert.Empty(engine.Containers);
        if (written) Assert.Contains(expected, File.ReadAllText(Path.Combine(output, ComposeFile.FileName)));
        else
        {
            var error = Assert.Single(scratch.Build.Errors);
            Assert.Equal(expected, $"{error.Code}: {error.Message}");
            Assert.False(Directory.Exists(output));
        }
    }

    [Fact]
    public void A_background_StackProject_is_published_with_its_replicas_and_settings_but_no_port_probe_or_Service()
    {
        var input = Builders.ValidInput() with
        {
            StackName = "hello",
            Projects = [new ProjectInput("api") { Path = "../Api/Api.csproj", Route = "/api" }, new ProjectInput("worker") { Path = "../Worker/Worker.csproj", Replicas = "2", DependsOn = "db" }],
            Containers = [new ServiceInput("db") { Image = "postgres:15", Environment = "POSTGRES_PASSWORD=dev" }],
        };
        var model = StackModelBuilder.Build(input).Model! with { NginxVersion = "1.30.6" };
        var images = new Dictionary<string, string>(ProjectImages) { ["worker"] = "registry.example.com/hello-worker:1.0" };
        foreach (var target in new[] { StackTargets.Compose, StackTargets.Kubernetes, StackTargets.Swarm })
        {
            var published = StackWorkloads.ForTarget(model, target);
            var workloads = StackWorkloads.Build(published, "registry.example.com/hello:1.0", images);
            var worker = workloads.Single(w => w.Name == "worker-app");
            Assert.Equal((2, 0, null, "registry.example.com/hello-worker:1.0"), (worker.Replicas, worker.Port, worker.Health, worker.Image));
            Assert.Contains(worker.Environment, e => e.Key == "ConnectionStrings__db");
            Assert.Equal(["db"], worker.DependsOn);
            var proxy = workloads.Single(w => w.Kind == WorkloadKind.Proxy);
            Assert.Equal(["api"], proxy.Aliases);
            Assert.DoesNotContain("worker-app", proxy.DependsOn);
            Assert.DoesNotContain("worker-app", NginxConfigWriter.Write(published));
            Assert.Contains("api-app", NginxConfigWriter.Write(published));
            if (target == StackTargets.Kubernetes)
            {
                var objects = KubernetesManifests.Objects(published, workloads, NginxConfigWriter.Write(published));
                var yaml = KubernetesManifests.Serialize(published, objects, "the stack");
                Assert.Contains("name: worker-app", yaml);
                Assert.DoesNotContain(objects.OfType<k8s.Models.V1Service>(), o => o.Metadata.Name == "worker-app");
                var deployment = objects.OfType<k8s.Models.V1Deployment>().Single(o => o.Metadata.Name == "worker-app");
                Assert.Null(deployment.Spec.Template.Spec.Containers.Single().ReadinessProbe);
            }
        }
    }

    [Fact]
    public void A_stack_whose_app_runs_on_this_host_is_published_with_its_replicas_in_containers()
    {
        // StackAppOnHost (the F5 profile) leaves no replica of the front project on this machine; a manifest has no host.
        var onHost = StackModelBuilder.Build(Builders.ValidInput() with { StackName = "hello", Replicas = "3", AppOnHost = "true" }).Model! with { NginxVersion = "1.30.6" };
        Assert.Equal((0, 3), (onHost.Replicas, onHost.DeclaredReplicas));
        foreach (var target in new[] { StackTargets.Compose, StackTargets.Kubernetes, StackTargets.Swarm })
        {
            var (published, workloads) = Publish(onHost, target);
            Assert.Equal((3, 0), (published.Replicas, published.AppOnHostPort));
            Assert.Equal(3, workloads.Single(w => w.Name == "app").Replicas);
            Assert.Contains($"server {StackTargets.UpstreamHost(published)}:8080", NginxConfigWriter.Write(published));
            Assert.DoesNotContain(StackNetworking.AppOnHostName, NginxConfigWriter.Write(published));
        }
        var (composeModel, composeWorkloads) = Publish(onHost, StackTargets.Compose);
        Assert.Contains("replicas: 3", ComposeFile.Write(composeModel, composeWorkloads, new Dictionary<string, (int, int)> { ["registry.example.com/hello:1.0"] = (1654, 1654) }));
    }

    private static YamlMappingNode Service(string compose, string name)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(compose));
        return (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"])[name];
    }

    public static TheoryData<string, string, string, int, string> Problems => new()
    {
        { "", "hello", "1.30.6", 0, "STACK1050: StackTarget is '': StackPublish writes the stack for compose or kubernetes, StackDeploy deploys it to swarm. Run dotnet build -t:StackPublish -p:StackTarget=compose (or kubernetes), or -t:StackDeploy -p:StackTarget=swarm." },
        { "helm", "hello", "1.30.6", 0, "STACK1050: StackTarget is 'helm': StackPublish writes the stack for compose or kubernetes, StackDeploy deploys it to swarm. Run dotnet build -t:StackPublish -p:StackTarget=compose (or kubernetes), or -t:StackDeploy -p:StackTarget=swarm." },
        { "kubernetes", "hello.world", "1.30.6", 0, "STACK1051: Stack name 'hello.world' is not a name kubernetes accepts for a project or namespace (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters). Set StackName to such a name." },
        { "compose", "hello_world", "1.30.6", 0, "STACK1051: Stack name 'hello_world' is not a name compose accepts for a project or namespace (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters). Set StackName to such a name." },
        { "compose", "hello", "1.22.1", 0, "STACK1053: StackNginxImage 'nginx:stable' carries nginx 1.22.1; StackTarget=compose needs nginx 1.27.3 or later, which re-resolves each service's name as its replicas come and go. Use nginx:stable (or a later image) as StackNginxImage." },
        { "kubernetes", "hello", "1.30.6", 8443, "STACK1054: StackHttpsPort is set, but the kubernetes manifests serve plain HTTP on port 8080: the development certificate stays on this machine. Terminate TLS in front of them (an ingress or a load balancer)." },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void What_cannot_be_written_out_is_a_coded_message_naming_what_to_change(string target, string name, string nginx, int httpsPort, string expected)
    {
        var found = StackWorkloads.Check(Model(name, nginx, httpsPort), target);
        Assert.Equal([expected], found.Select(d => d.Format()));
    }

    [Fact]
    public void An_older_nginx_still_serves_kubernetes_which_reaches_services_without_re_resolving()
    {
        Assert.Empty(StackWorkloads.Check(Model(nginx: "1.22.1"), StackTargets.Kubernetes));
        Assert.Empty(StackWorkloads.Check(Model(), StackTargets.Compose));
    }

    [Fact]
    public void Each_entry_point_accepts_only_its_own_targets()
    {
        Assert.Equal(DiagnosticCodes.StackTargetInvalid, StackWorkloads.Check(Model(), StackTargets.Swarm, accepted: StackTargets.Published).Single().Code);
        Assert.Equal(DiagnosticCodes.StackTargetInvalid, StackWorkloads.Check(Model(), StackTargets.Compose, accepted: [StackTargets.Swarm]).Single().Code);
        Assert.Empty(StackWorkloads.Check(Model(), StackTargets.Kubernetes, accepted: StackTargets.Published));
    }

    [Fact]
    public void A_service_name_used_twice_or_not_a_dns_label_is_STACK1052_naming_both_owners()
    {
        var clash = Model() with { Services = [.. Model().Services, Model().Services[0] with { Name = "proxy" }] };
        var found = StackWorkloads.Check(clash, StackTargets.Kubernetes).Single();
        Assert.Equal("STACK1052: StackContainer 'proxy' becomes the kubernetes service 'proxy' (nginx has it too). Rename the item so that every service name is a DNS label (lowercase letters, digits and '-') used once.", found.Format());
        var underscore = Model() with { Services = [Model().Services[0] with { Name = "my_db" }] };
        Assert.Equal(DiagnosticCodes.ManifestNameInvalid, StackWorkloads.Check(underscore, StackTargets.Kubernetes).Single().Code);
    }
}

