using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>StackProject items: validation, wiring, nginx routes, and plans that treat each project's replicas as a set of their own.</summary>
public sealed class StackProjectTests
{
    private const string ApiImage = "hello-api:latest";
    private const string ApiImageId = "sha256:api1";

    private static ProjectInput Api(string route = "/api", string dependsOn = "") => new("api") { Path = "../Api/Api.csproj", Route = route, Replicas = "2", DependsOn = dependsOn };

    private static StackInput Input(params ProjectInput[] projects) => Builders.ValidInput() with { StackName = "hello", Projects = projects };

    private static StackModel Model(StackInput input) => StackModelBuilder.Build(input).Model!;

    private static IReadOnlyList<Diagnostics.Diagnostic> Errors(StackInput input) => StackModelBuilder.Build(input).Diagnostics.Where(d => d.IsError).ToList();

    private static ReconcileResult Reconcile(StackModel model, ObservedState observed, string apiImage = ApiImage) =>
        Reconciler.Reconcile(model, observed, Builders.AppImage, Builders.ProxyImage, NginxConfigWriter.Write(model), new Dictionary<string, string> { ["api"] = apiImage });

    private static Dictionary<string, string> Images() => new(Builders.Images()) { [ApiImage] = ApiImageId, ["hello-api:v2"] = "sha256:api2", ["redis:7"] = "sha256:redis1" };

    /// <summary>A stack that is up as <paramref name="model"/> wants it, the API's replicas from <paramref name="apiId"/>.</summary>
    private static ObservedState Running(StackModel model, string apiId = ApiImageId)
    {
        var running = Builders.Running(model, NginxConfigWriter.Write(model));
        var api = model.ReplicaSets.Single(s => s.ProjectKey == "api");
        var replicas = Enumerable.Range(1, api.Replicas).Select(i =>
        {
            var spec = ContainerSpecs.App(api, api.AppName(i), i, apiId, Reconciler.AppHash(api, apiId, i));
            return new ObservedContainer($"{i:x2}".PadLeft(64, 'd'), spec.Name, spec.Labels, true);
        });
        return running with { Containers = [.. running.Containers, .. replicas], ImageIds = Images() };
    }

    [Theory]
    [InlineData("Route", "api")]
    [InlineData("Route", "/")]
    [InlineData("Route", "/a b")]
    [InlineData("Name", "API")]
    [InlineData("Name", "proxy")]
    [InlineData("Replicas", "0")]
    [InlineData("StripPrefix", "maybe")]
    [InlineData("HealthPath", "healthz")]
    [InlineData("AppPort", "http")]
    [InlineData("AppProtocol", "h3")]
    public void A_StackProject_with_bad_metadata_is_STACK1045_naming_the_project_and_the_metadata(string metadata, string value)
    {
        var project = metadata switch
        {
            "Route" => Api(route: value),
            "Name" => Api() with { },
            "Replicas" => Api() with { Replicas = value },
            "StripPrefix" => Api() with { StripPrefix = value },
            "HealthPath" => Api() with { HealthPath = value },
            "AppProtocol" => Api() with { AppProtocol = value },
            _ => Api() with { AppPort = value },
        };
        if (metadata == "Name") project = new ProjectInput(value) { Path = project.Path, Route = "/api" };
        var error = Assert.Single(Errors(Input(project)));
        Assert.Equal("STACK1045", error.Code);
        Assert.Contains($"StackProject '{project.Name}' has {metadata}=\"{value}\"", error.Format());
    }

    [Fact]
    public void A_missing_project_file_a_shared_route_and_a_name_a_StackContainer_has_are_each_STACK1045()
    {
        var errors = Errors(Input(Api() with { Exists = false }, new ProjectInput("cache") { Path = "c.csproj", Route = "/api/" }) with
        {
            Containers = [new ServiceInput("cache") { Image = "redis:7" }],
        });
        Assert.All(errors, e => Assert.Equal("STACK1045", e.Code));
        Assert.Contains(errors, e => e.Format().Contains("has Include=\"../Api/Api.csproj\""));
        Assert.Contains(errors, e => e.Format().Contains("'cache' has Name=\"cache\": give each StackProject and StackContainer its own name"));
        Assert.Contains(errors, e => e.Format().Contains("'cache' has Route=\"/api/\": StackProject 'api' is served there already"));

        // nginx resolves replicas by name: a name longer than a DNS label allows is refused, naming the longest one.
        var longName = Assert.Single(Errors(Input(new ProjectInput("orders-fulfilment-service-api") { Path = "o.csproj", Route = "/orders" }) with { StackName = "contoso-shop-storefront-web-frontend" }));
        Assert.Contains("(contoso-shop-storefront-web-frontend-orders-fulfilment-service-api-16) would be longer than the 63 characters", longName.Format());
    }

    [Fact]
    public void Unknown_dependencies_and_cycles_are_refused_before_anything_starts()
    {
        var unknown = Assert.Single(Errors(Input(Api(dependsOn: "db"))));
        Assert.Equal("STACK1041", unknown.Code);
        Assert.Contains("'api' depends on 'db'", unknown.Format());
        var front = Assert.Single(Errors(Input(Api()) with { DependsOn = "web" }));
        Assert.Equal("STACK1041", front.Code);

        var web = new ProjectInput("web") { Path = "w.csproj", Route = "/web", DependsOn = "api" };
        var cycle = Assert.Single(Errors(Input(Api(dependsOn: "web"), web)));
        Assert.Equal("STACK1042", cycle.Code);
        Assert.Contains("api → web → api", cycle.Format());
    }

    [Fact]
    public void StackEnvironment_for_an_unknown_project_is_STACK1046_and_projects_need_bridge_mode()
    {
        var env = Assert.Single(Errors(Input(Api()) with { UnknownProjectEnvironment = [("Greeting", "apii")] }));
        Assert.Equal("STACK1046", env.Code);
        Assert.Contains("Project=\"apii\"", env.Format());
        Assert.Contains("api", env.Format());
        var host = Assert.Single(Errors(Input(Api()) with { NetworkMode = "host" }));
        Assert.Equal("STACK1043", host.Code);
    }

    [Fact]
    public void Every_replica_set_is_wired_to_the_projects_through_nginx_and_to_the_containers_it_depends_on()
    {
        var model = Model(Input(Api(dependsOn: "cache") with { ItemEnvironment = [new("Greeting", "hi")] }) with
        {
            Containers = [new ServiceInput("cache") { Image = "redis:7" }],
            UnderRun = true,
        });
        var front = StackNetworking.AppEnvironment(model, 1);
        Assert.Contains(new KeyValuePair<string, string>("services__api__http__0", "http://api:8080"), front);
        Assert.Contains(new KeyValuePair<string, string>("ConnectionStrings__cache", "cache:6379"), front);
        var api = model.ReplicaSets.Single(s => s.ProjectKey == "api");
        var apiEnv = StackNetworking.AppEnvironment(api, 1);
        Assert.Contains(new KeyValuePair<string, string>("ConnectionStrings__cache", "cache:6379"), apiEnv);
        Assert.Contains(new KeyValuePair<string, string>("Greeting", "hi"), apiEnv);
        // Under `dotnet run` the project runs in Development, as the front project does; never wired to itself.
        Assert.Contains(new KeyValuePair<string, string>("ASPNETCORE_ENVIRONMENT", "Development"), apiEnv);
        Assert.DoesNotContain(apiEnv, e => e.Key.StartsWith("services__", StringComparison.Ordinal));
        Assert.Equal(["hello-api-1", "hello-api-2"], StackNetworking.ContainerNames(model).Where(n => n.StartsWith("hello-api-", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("AppPort", "8081")]
    [InlineData("HealthPath", "/healthz")]
    [InlineData("StripPrefix", "false")]
    [InlineData("AppProtocol", "http2")]
    public void A_StackProject_without_Route_refuses_the_settings_of_a_served_app_as_STACK1045(string metadata, string value)
    {
        var worker = new ProjectInput("worker") { Path = "w.csproj" };
        worker = metadata switch
        {
            "AppPort" => worker with { AppPort = value },
            "HealthPath" => worker with { HealthPath = value },
            "StripPrefix" => worker with { StripPrefix = value },
            _ => worker with { AppProtocol = value },
        };
        var error = Assert.Single(Errors(Input(worker)));
        Assert.Equal($"STACK1045: StackProject 'worker' has {metadata}=\"{value}\": a StackProject without Route runs in the background and nginx does not serve it: leave {metadata} out, or give it a Route such as Route=\"/worker\".", error.Format());
    }

    [Fact]
    public void A_background_projects_own_lifetime_log_level_wins_over_the_one_its_readiness_sets()
    {
        var model = Model(Input(new ProjectInput("worker")
        {
            Path = "../Worker/Worker.csproj", ItemEnvironment = [new("logging__loglevel__microsoft.hosting.lifetime", "Warning")],
        })) with { NginxVersion = "1.30.6" };
        var env = StackNetworking.ReplicaEnvironment(model.SetOf("worker")!, 1);
        Assert.Equal([new("logging__loglevel__microsoft.hosting.lifetime", "Warning")], env.Where(e => e.Key.Contains("hosting.lifetime", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public void A_StackProject_without_Route_runs_in_the_background_that_nginx_knows_nothing_of_ready_once_its_host_started()
    {
        // nginx 1.30: replicas join by DNS (the slot renames this machine's stacks use).
        var model = Model(Input(Api(), new ProjectInput("worker") { Path = "../Worker/Worker.csproj", Replicas = "2", DependsOn = "cache;api" }) with
        {
            Containers = [new ServiceInput("cache") { Image = "redis:7" }],
        }) with { NginxVersion = "1.30.6" };
        var worker = model.SetOf("worker")!;
        Assert.True(worker.Background);
        Assert.False(model.SetOf("api")!.Background);
        Assert.Equal(HealthProbe.BackgroundService, worker.Health);
        // No key ring: it takes no requests, so it has no cookie or token to share.
        Assert.Equal("", worker.KeyRingDirectory);
        Assert.DoesNotContain("hello-keys-worker", model.KeysVolumeNames);
        Assert.Contains("Stack 'hello': StackProject 'worker', 2 replica(s), in the background (no Route: nginx does not serve it)", model.ProjectLines);

        // nginx has no upstream, location or server of it, and does not answer to its name.
        var config = NginxConfigWriter.Write(model);
        foreach (var part in new[] { "project-worker", "hello-worker", "server_name worker", "location /worker" }) Assert.DoesNotContain(part, config);
        Assert.Contains("upstream project-api {", config);
        Assert.Equal(["api"], ContainerSpecs.Proxy(model, "img", "base", "hash").Aliases);
        // No one is given an address of it; it gets what it depends on: the cache's connection string, the API's address.
        Assert.DoesNotContain(StackNetworking.AppEnvironment(model, 1), e => e.Key.Contains("worker", StringComparison.Ordinal));
        var env = StackNetworking.AppEnvironment(worker, 1);
        Assert.Contains(new KeyValuePair<string, string>("ConnectionStrings__cache", "cache:6379"), env);
        Assert.Contains(new KeyValuePair<string, string>("services__api__http__0", "http://api:8080"), env);
        // Ready by its output: its replicas run with the host's lifetime messages at Information, whatever its appsettings
        // say; a served project's do not, nor do the published manifests (AppEnvironment), where nothing waits on output.
        var lifetime = new KeyValuePair<string, string>("Logging__LogLevel__Microsoft.Hosting.Lifetime", "Information");
        Assert.Contains(lifetime, StackNetworking.ReplicaEnvironment(worker, 2));
        Assert.DoesNotContain(env, e => e.Key == lifetime.Key);
        Assert.DoesNotContain(StackNetworking.ReplicaEnvironment(model.SetOf("api")!, 1), e => e.Key == lifetime.Key);
        Assert.DoesNotContain(StackNetworking.ReplicaEnvironment(model, 1), e => e.Key == lifetime.Key);

        // Its replicas are created and waited for by their output, after the cache and the API; the proxy checks only the
        // API's route and waits for no worker slot to resolve.
        var images = new Dictionary<string, string>(Images()) { ["hello-worker:latest"] = "sha256:worker1" };
        var result = Reconciler.Reconcile(model, new ObservedState { ImageIds = images }, Builders.AppImage, Builders.ProxyImage, config,
            new Dictionary<string, string> { ["api"] = ApiImage, ["worker"] = "hello-worker:latest" });
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        var steps = result.Plan.Steps;
        var ready = steps.Single(s => s.Kind == StepKind.WaitReady && s.Resource == "hello-worker-2-joining");
        Assert.Equal(HealthProbe.BackgroundService, ready.Replica!.Health);
        var create = steps.Single(s => s.Kind == StepKind.CreateContainer && s.Resource == "hello-worker-1-joining");
        Assert.Contains(steps.Single(s => s.Kind == StepKind.WaitReady && s.Resource == "hello-api-1-joining").Id, create.DependsOn);
        Assert.Equal("sha256:worker1", create.Container!.Image);
        Assert.Contains(lifetime, create.Container.Environment);
        // An undo need not wait for nginx's resolver to give a worker's slot back: nginx never resolves it.
        Assert.Contains(steps, s => s.Kind == StepKind.JoinUpstream && s.Resource == "hello-worker-1" && s.Wait == TimeSpan.Zero);
        Assert.Contains(steps, s => s.Kind == StepKind.JoinUpstream && s.Resource == "hello-api-1" && s.Wait == StackNetworking.ResolverTime);
        var proxy = steps.Single(s => s.Kind == StepKind.WaitProxy).Proxy!;
        Assert.Equal(["/api/"], proxy.Routes.Select(r => r.Path));
        Assert.DoesNotContain(proxy.Slots, s => s.Contains("worker", StringComparison.Ordinal));
    }

    [Fact]
    public void nginx_serves_each_project_at_its_route_and_under_its_name_for_the_other_replicas()
    {
        var model = Model(Input(Api(), new ProjectInput("admin") { Path = "a.csproj", Route = "/admin", StripPrefix = "false" }));
        var config = NginxConfigWriter.Write(model);
        Assert.Contains("upstream project-api {", config);
        Assert.Contains("server hello-api-2:8080 max_fails=3", config);
        // The prefix cut off the target as the client sent it (nginx's own URI is decoded: %2F would reach the app as '/');
        // a target whose prefix nginx decoded to match, or with a dot segment, goes by nginx's URI, rewritten.
        Assert.Contains("map $request_uri $proxystack_target_api {\n        default \"\";\n", config);
        Assert.Contains("        ~*^[^?]*/(\\.|%2e) \"\";\n        ~^/api(?:/([^?]*))?([?].*)?$ /$1$2;\n    }", config);
        foreach (var location in new[] { "= /api", "/api/" })
            Assert.Contains($"location {location} {{\n            error_page 418 = @proxystack-decoded-api;\n            if ($proxystack_target_api = \"\") {{ return 418; }}\n            proxy_pass http://project-api$proxystack_target_api;", config);
        Assert.Contains("location @proxystack-decoded-api {\n            rewrite ^/api/?(.*)$ /$1 break;\n            proxy_pass http://project-api;", config);
        Assert.Equal(3, config.Split("proxy_set_header X-Forwarded-Prefix /api;").Length - 1);
        Assert.DoesNotContain("proxystack_target_admin", config);
        // StripPrefix=false: the path reaches the app as it came, with no X-Forwarded-Prefix, not even the client's own.
        Assert.Contains("location /admin/ {\n            proxy_pass http://project-admin;", config);
        Assert.Matches(@"location /admin/ \{[^}]*proxy_set_header X-Forwarded-Prefix """"; # not the client's own\n", config);
        Assert.Contains("server_name api;\n        location / {\n            proxy_pass http://project-api;", config);
        // The front project's location is unchanged.
        Assert.Contains("location / {\n            proxy_pass http://app;", config);
        // Every location that passes a request on clears the forwarding headers the proxy cannot vouch for.
        AssertEveryPassClears(config, "proxy");

        var proxy = ContainerSpecs.Proxy(model, "img", "base", "hash");
        Assert.Equal(["api", "admin"], proxy.Aliases);
        Assert.Empty(ContainerSpecs.ConfigCheck(proxy).Aliases);
    }

    [Fact]
    public void A_project_whose_appsettings_make_it_speak_HTTP2_only_is_probed_and_passed_to_over_HTTP2()
    {
        // Read from its appsettings.json (the grpc template's), or set; set, the metadata wins over what was read.
        var model = Model(Input(new ProjectInput("greeter") { Path = "g.csproj", Route = "/greet", DetectedHttp2Only = true },
            new ProjectInput("plain") { Path = "p.csproj", Route = "/plain", DetectedHttp2Only = true, AppProtocol = "http1" })) with { NginxVersion = "1.30.6" };
        Assert.Equal(new HealthProbe("/", Strict: false, Http2: true), model.SetOf("greeter")!.Health);
        Assert.False(model.SetOf("plain")!.AppHttp2);
        Assert.False(model.AppHttp2);

        var config = NginxConfigWriter.Write(model);
        // At its route, the prefix cut by a rewrite (grpc_pass takes no URI), over HTTP/2.
        Assert.Contains("location /greet/ {\n            rewrite ^/greet/?(.*)$ /$1 break;\n            # The app speaks HTTP/2 only (gRPC): every request goes to it over HTTP/2.\n            grpc_pass grpc://project-greeter;", config);
        Assert.Contains("grpc_set_header X-Forwarded-Proto $scheme;\n            grpc_set_header X-Forwarded-Prefix /greet;\n", config);
        AssertEveryPassClears(config, "grpc");
        // Under its name, for the other replicas' gRPC clients.
        Assert.Contains("server_name greeter;\n        http2 on;\n        location / {\n            # The app speaks HTTP/2 only (gRPC): every request goes to it over HTTP/2.\n            grpc_pass grpc://project-greeter;", config);
        // The listen address's default server tells HTTP/2 with prior knowledge from HTTP/1.x, for the project's sake.
        Assert.Contains("listen 8080;\n        # HTTP/2 with prior knowledge (gRPC clients) beside HTTP/1.x on the same port.\n        http2 on;", config);
        Assert.Contains("location / {\n            proxy_pass http://app;", config);
        Assert.Contains("server_name plain;\n        location / {\n            proxy_pass http://project-plain;", config);
    }

    [Fact]
    public void A_fresh_stack_starts_each_project_after_what_it_depends_on_with_its_own_labels_and_probe()
    {
        var model = Model(Input(Api(dependsOn: "cache") with { HealthPath = "/healthz" }) with
        {
            Containers = [new ServiceInput("cache") { Image = "redis:7" }],
            DependsOn = "api",
        });
        var result = Reconcile(model, new ObservedState { ImageIds = Images() });
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        var steps = result.Plan.Steps;
        int Step(StepKind kind, string resource) => steps.Single(s => s.Kind == kind && s.Resource == resource).Id;
        var cacheReady = Step(StepKind.WaitService, "hello-cache");
        var apiReady = new[] { Step(StepKind.WaitReady, "hello-api-1"), Step(StepKind.WaitReady, "hello-api-2") };
        Assert.Contains(cacheReady, steps.Single(s => s.Id == Step(StepKind.CreateContainer, "hello-api-1")).DependsOn);
        // The front project (StackDependsOn=api) starts once the API's replicas are ready.
        Assert.Superset(apiReady.ToHashSet(), steps.Single(s => s.Id == Step(StepKind.CreateContainer, "hello-app-1")).DependsOn.ToHashSet());
        var create = steps.Single(s => s.Kind == StepKind.CreateContainer && s.Resource == "hello-api-1").Container!;
        Assert.Equal("api", create.Labels[StackLabels.Project]);
        Assert.Equal(ApiImageId, create.Image);
        Assert.Equal(new HealthProbe("/healthz", true), steps.Single(s => s.Id == apiReady[0]).Replica!.Health);
        Assert.Equal(model.Health, steps.Single(s => s.Kind == StepKind.WaitReady && s.Resource == "hello-app-1").Replica!.Health);
    }

    [Fact]
    public void A_change_to_one_projects_image_replaces_only_that_projects_replicas_and_an_unchanged_stack_has_no_step()
    {
        var model = Model(Input(Api()));
        var running = Running(model);
        var same = Reconcile(model, running);
        Assert.True(same.Plan.IsEmpty, same.Plan.ToString());

        var changed = Reconcile(model, running, apiImage: "hello-api:v2");
        Assert.False(changed.HasErrors, string.Join("\n", changed.Diagnostics));
        Assert.Equal(["hello-app-1", "hello-app-2", "hello-app-3"], changed.Kept.Where(k => k.StartsWith("hello-app-", StringComparison.Ordinal)));
        var created = changed.Plan.Steps.Where(s => s.Kind == StepKind.CreateContainer).Select(s => s.Resource).ToList();
        Assert.Equal(["hello-api-1", "hello-api-2"], created);
        Assert.All(changed.Plan.Steps.Where(s => s.Kind == StepKind.CreateContainer), s => Assert.Equal("image changed", s.Cause));
    }

    [Fact]
    public void A_project_no_longer_declared_has_its_replicas_removed_after_the_proxy_stops_routing_to_them()
    {
        var before = Model(Input(Api()));
        var after = Model(Input());
        var result = Builders.Reconcile(after, Running(before));
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        // nginx no longer answers to "api" (the proxy is replaced, its aliases being fixed at creation) before they stop.
        var commit = result.Plan.Steps.Single(s => s.IsCommit);
        foreach (var name in new[] { "hello-api-1", "hello-api-2" })
        {
            var stop = result.Plan.Steps.Single(s => s.Kind == StepKind.StopContainer && s.Resource == name);
            Assert.Equal("no longer a StackProject (api)", stop.Cause);
            Assert.True(stop.Id > commit.Id);
            Assert.Contains(result.Plan.Steps, s => s.Kind == StepKind.RemoveContainer && s.Resource == name);
        }
    }

    /// <summary>As many locations pass on (<paramref name="kind"/>_pass) as clear X-Forwarded-Port and Forwarded, and there are some.</summary>
    private static void AssertEveryPassClears(string config, string kind)
    {
        var passes = config.Split($"            {kind}_pass ").Length - 1;
        Assert.True(passes > 1, config);
        foreach (var header in new[] { "X-Forwarded-Port", "Forwarded" })
            Assert.Equal(passes, config.Split($"            {kind}_set_header {header} \"\"; # not the client's own\n").Length - 1);
    }
}
