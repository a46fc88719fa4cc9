using TaskItem = Microsoft.Build.Utilities.TaskItem;
using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.MSBuild;
using ProxyStack.Planning;
using ProxyStack.Proxy;
using Xunit;

using ProxyStack.IntegrationTests.Infrastructure;

namespace ProxyStack.Tests;

public sealed class TaskAdapterTests : IDisposable
{
    private readonly TaskScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task A_build_reading_the_app_image_stamp_while_another_records_its_image_reads_the_whole_stamp()
    {
        // Two bring-ups of one project share its obj folder: one read the stamp while the other rewrote it in place, and
        // deployed the image '' (CI, 2026-12-07). Written in place, this test read an empty stamp within a second.
        var engine = new FakeEngine();
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        var stamp = Path.Combine(_scratch.Dir, "app-image.stamp");
        bool Record() => new RecordStackAppImage { BuildEngine = _scratch.Build, Engine = engine, Image = Builders.AppImage, StampFile = stamp }.Execute();
        Assert.True(Record());
        var writer = Task.Run(() => { for (var i = 0; i < 2000; i++) Assert.True(Record(), string.Join("\n", _scratch.Build.Errors.Select(e => e.Message))); });
        var reads = 0;
        while (!writer.IsCompleted)
        {
            Assert.Equal([Builders.AppImage, Builders.AppImageId], File.ReadAllLines(stamp));
            reads++;
        }
        await writer;
        Assert.True(reads > 100, $"{reads} reads");
        Assert.Single(Directory.GetFiles(_scratch.Dir, "app-image.stamp*"));
    }

    [Fact]
    public void ComputeStackModel_logs_coded_errors_and_writes_no_model_for_bad_input()
    {
        var task = new ComputeStackModel
        {
            BuildEngine = _scratch.Build, ProjectName = "HelloStack", StackReplicas = "0", StackHostPort = "8080", StackHostAddress = "127.0.0.1",
            StackAppPort = "8080", StackHealthPath = "/", StackReadyTimeout = "60", StackNginxImage = "nginx:stable",
            StackNetworkMode = "bridge", StackKeepRunning = "false", ModelFile = Path.Combine(_scratch.Dir, "m.json"),
        };
        Assert.False(task.Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK1003", error.Code);
        Assert.Contains("StackReplicas is '0'", error.Message);
        Assert.False(File.Exists(task.ModelFile));
    }

    [Fact]
    public void ComputeStackModel_outputs_the_normalized_name_the_url_and_environment()
    {
        var item = new TaskItem("GREETING");
        item.SetMetadata("Value", "hi");
        var task = new ComputeStackModel
        {
            BuildEngine = _scratch.Build, ProjectName = "Contoso.Orders_API", StackReplicas = "2", StackHostPort = "9000", StackHostAddress = "127.0.0.1",
            StackAppPort = "8080", StackHealthPath = "/", StackReadyTimeout = "60", StackNginxImage = "nginx:stable",
            StackRegistryMirror = "localhost:5000", StackNetworkMode = "bridge", StackKeepRunning = "false",
            StackEnvironment = [item], ModelFile = Path.Combine(_scratch.Dir, "m.json"),
        };
        Assert.True(task.Execute());
        Assert.Equal("contoso.orders_api", task.NormalizedStackName);
        Assert.Equal("http://127.0.0.1:9000", task.StackUrl);
        Assert.Equal("localhost:5000/library/nginx:stable", task.ResolvedNginxImage);
        var model = StackModelFile.Deserialize(File.ReadAllText(task.ModelFile));
        Assert.Equal([new KeyValuePair<string, string>("GREETING", "hi")], model.Environment);
    }

    /// <summary>Visual Studio's F5 path: the profile selected there ($(ActiveDebugProfile)) sets StackAppOnHost; outside `dotnet run` too.</summary>
    [Theory]
    [InlineData("HelloStack (debug)", true)]
    [InlineData("HelloStack (stack)", false)]
    [InlineData("", false)]
    public void ComputeStackModel_puts_the_app_on_the_host_when_the_profile_the_IDE_selected_says_so(string selected, bool onHost)
    {
        var launchSettings = Path.Combine(_scratch.Dir, "launchSettings.json");
        File.WriteAllText(launchSettings, """
            { "profiles": {
                "HelloStack (stack)": { "commandName": "Project" },
                "HelloStack (debug)": { "commandName": "Project", "environmentVariables": { "StackAppOnHost": "true" } } } }
            """);
        var task = new ComputeStackModel
        {
            BuildEngine = _scratch.Build, ProjectName = "HelloStack", StackReplicas = "2", StackHostPort = "8080", StackHostAddress = "127.0.0.1",
            StackAppPort = "8080", StackHealthPath = "/", StackReadyTimeout = "60", StackNginxImage = "nginx:stable",
            StackNetworkMode = "bridge", StackKeepRunning = "false", ModelFile = Path.Combine(_scratch.Dir, "m.json"),
            ActiveDebugProfile = selected, LaunchSettingsFile = launchSettings,
        };
        Assert.True(task.Execute());
        Assert.Equal(onHost, task.AppOnHost);
    }

    [Fact]
    public void ComputeStackModel_reads_each_StackProjects_own_code_for_its_health_checks_its_key_storage_and_its_protocol()
    {
        // Api maps health checks in a subfolder, keeps its keys itself and speaks HTTP/2 only; Web does neither — what its obj folder says (a
        // build's generated code) is not its code, nor is a project nested in its folder. Fun is F#: its code is its .fs files,
        // where a method may be called without parentheses (and a .cs file beside them is not its code).
        Microsoft.Build.Framework.ITaskItem Project(string name, params (string File, string Code)[] files) => ProjectOf(name, ".csproj", files);
        Microsoft.Build.Framework.ITaskItem ProjectOf(string name, string extension, params (string File, string Code)[] files)
        {
            var folder = Path.Combine(_scratch.Dir, name);
            foreach (var (file, code) in files)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder, file))!);
                File.WriteAllText(Path.Combine(folder, file), code);
            }
            File.WriteAllText(Path.Combine(folder, name + extension), "<Project Sdk=\"Microsoft.NET.Sdk.Web\" />");
            var item = new TaskItem(Path.Combine(folder, name + extension));
            item.SetMetadata("Route", "/" + name.ToLowerInvariant());
            item.SetMetadata("Replicas", "2");
            return item;
        }
        var task = new ComputeStackModel
        {
            BuildEngine = _scratch.Build, ProjectName = "hello", StackReplicas = "2", StackHostPort = "9000", StackHostAddress = "127.0.0.1",
            StackAppPort = "8080", StackHealthPath = "", StackReadyTimeout = "60", StackNginxImage = "nginx:stable",
            StackNetworkMode = "bridge", StackKeepRunning = "false", ModelFile = Path.Combine(_scratch.Dir, "m.json"),
            StackProject =
            [
                Project("Api", ("Program.cs", "builder.Services.AddDataProtection().PersistKeysToFileSystem(new(\"/keys\"));"),
                    (Path.Combine("Health", "Endpoints.cs"), "app.MapHealthChecks(\"/healthz\");"),
                    ("appsettings.json", """{ "Kestrel": { "EndpointDefaults": { "Protocols": "Http2" } } }""")),
                Project("Web", ("Program.cs", "app.MapGet(\"/\", () => \"web\"); app.MapHub<Chat>(\"/chat\");"),
                    (Path.Combine("obj", "Generated.cs"), "app.MapHealthChecks(\"/generated\"); // PersistKeysToDbContext"),
                    (Path.Combine("Admin", "Admin.csproj"), "<Project Sdk=\"Microsoft.NET.Sdk.Web\" />"),
                    (Path.Combine("Admin", "Program.cs"), "app.MapHealthChecks(\"/admin-health\"); builder.Services.AddDataProtection().PersistKeysToFileSystem(new(\"/k\"));")),
                ProjectOf("Fun", ".fsproj", ("Program.fs", "app.MapHealthChecks \"/ready\" |> ignore\napp.MapGet(\"/\", Func<string>(fun () -> \"fun\")) |> ignore"),
                    ("Stray.cs", "app.MapHealthChecks(\"/not-fun\");")),
            ],
        };
        Assert.True(task.Execute(), string.Join("\n", _scratch.Build.Errors.Select(e => e.Message)));
        var model = StackModelFile.Deserialize(File.ReadAllText(task.ModelFile));
        var api = model.SetOf("api")!;
        var web = model.SetOf("web")!;
        // Api's appsettings.json makes it speak HTTP/2 only: probed over HTTP/2.
        Assert.Equal(new HealthProbe("/healthz", Strict: true, Http2: true), api.Health);
        Assert.Equal(new HealthProbe("/", Strict: false), web.Health);
        Assert.Equal(new HealthProbe("/ready", Strict: true), model.SetOf("fun")!.Health);
        Assert.False(api.SharedKeys);
        Assert.Equal("/proxystack/ASP.NET/DataProtection-Keys", web.KeyRingDirectory);
        Assert.True(model.SharedKeys);
        // Web's hub, read from its code: warned about at more than one replica (its Replicas is 2 here).
        Assert.Equal(["STACK1027"], _scratch.Build.Warnings.Select(w => w.Code));
        Assert.Equal(["Stack 'hello': StackProject 'api' configures where Data Protection keeps its keys (PersistKeysTo… in its code), so ProxyStack mounts no key ring for its replicas. Set StackSharedKeys to true to mount one anyway."],
            _scratch.Build.Messages.Select(m => m.Message).Where(m => m!.Contains("Data Protection")));
    }

    [Fact]
    public void ComputeStackModel_rewrites_the_model_only_when_it_changes()
    {
        var path = Path.Combine(_scratch.Dir, "m.json");
        ComputeStackModel Task() => new()
        {
            BuildEngine = _scratch.Build, ProjectName = "a", StackReplicas = "1", StackHostPort = "8080", StackHostAddress = "127.0.0.1",
            StackAppPort = "8080", StackHealthPath = "/", StackReadyTimeout = "60", StackNginxImage = "nginx:stable",
            StackNetworkMode = "bridge", StackKeepRunning = "false", ModelFile = path,
        };
        Assert.True(Task().Execute());
        var stamp = DateTime.UtcNow.AddMinutes(-5);
        File.SetLastWriteTimeUtc(path, stamp);
        Assert.True(Task().Execute());
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
    }

    [Fact]
    public void ProbeStackEngine_fails_with_STACK3001_naming_the_endpoint()
    {
        var task = new ProbeStackEngine { BuildEngine = _scratch.Build };
        task.Engine = new FakeEngine { PingFailure = new EngineUnavailableException("unix:///nowhere.sock", "the socket does not exist") };
        Assert.False(task.Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK3001", error.Code);
        Assert.Contains("unix:///nowhere.sock", error.Message);
        Assert.Contains("DOCKER_HOST", error.Message);
    }

    /// <summary>
    /// A socket that refuses this user (a Linux user outside the docker group) is an engine that runs: STACK3008 says how to be
    /// let in, not "start Docker". Seen end to end in ErrorTests; here the exception as Docker.DotNet wraps EACCES.
    /// </summary>
    [Fact]
    public void A_socket_that_refuses_this_user_is_STACK3008_saying_how_to_be_let_in_and_other_failures_stay_STACK3001()
    {
        var denied = new EngineUnavailableException("unix:///var/run/docker.sock", "Permission denied",
            new HttpRequestException("Permission denied", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.AccessDenied)));
        var task = new ProbeStackEngine { BuildEngine = _scratch.Build };
        task.Engine = new FakeEngine { PingFailure = denied };
        Assert.False(task.Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK3008", error.Code);
        Assert.Equal("The Docker engine at 'unix:///var/run/docker.sock' refused this user (permission denied on its socket): it runs, but this user may not use it. "
            + "On Linux, add the user to the group that owns the socket — for Docker: sudo usermod -aG docker $USER, then log out and in again (or run newgrp docker) — "
            + "or point DOCKER_HOST at an engine this user may use: rootless Docker, or Podman's user socket (systemctl --user start podman.socket, then "
            + "DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock).", error.Message);

        var refused = new EngineUnavailableException("unix:///var/run/docker.sock", "Connection refused",
            new HttpRequestException("Connection refused", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused)));
        Assert.False(refused.Denied);
        Assert.Equal("STACK3001", refused.ToDiagnostic().Code);
    }

    [Fact]
    public async Task Real_engine_adapter_fails_fast_for_a_socket_that_does_not_exist()
    {
        using var engine = new DockerEngine("unix:///tmp/proxystack-no-such.sock");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<EngineUnavailableException>(() => engine.PingAsync(CancellationToken.None));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal("unix:///tmp/proxystack-no-such.sock", e.Endpoint);
    }

    [Fact]
    public void ApplyStack_refuses_a_foreign_container_with_our_name_and_never_touches_it()
    {
        var model = Builders.Model(1);
        var engine = new FakeEngine();
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        engine.Containers["hello-app-1"] = ("f".PadLeft(64, 'f'), new Dictionary<string, string>(), true);
        var task = _scratch.Apply(model, engine);
        Assert.False(task.Execute());
        Assert.Equal("STACK4001", Assert.Single(_scratch.Build.Errors).Code);
        Assert.DoesNotContain(engine.Calls, c => c.Contains("hello-app-1"));
        Assert.True(engine.Containers.ContainsKey("hello-app-1"));
    }

    [Fact]
    public void ApplyStack_rolls_back_everything_it_created_when_a_replica_crashes()
    {
        var model = Builders.Model(2) with { HostPort = Ports.Free() };
        var engine = new FakeEngine();
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        engine.CrashOnStart["hello-app-2"] = 139;
        var task = _scratch.Apply(model, engine);
        Assert.False(task.Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK4005", error.Code);
        Assert.Contains("exited with code 139", error.Message);
        Assert.Contains("Unhandled exception: boom", error.Message);
        Assert.Empty(engine.Containers);
        Assert.Empty(engine.Networks);
    }

    [Fact]
    public void RemoveStack_removes_only_labelled_resources_and_succeeds_on_an_empty_stack()
    {
        var model = Builders.Model(1);
        var engine = new FakeEngine();
        engine.Containers["hello-app-1"] = Builders.App(model, 1) is var app ? (app.Id, app.Labels.ToDictionary(), true) : default;
        engine.Containers["hello-proxy"] = ("2".PadLeft(64, '2'), new Dictionary<string, string>(), true);
        engine.Networks["hello-net"] = Reconciler.Labels(model, StackLabels.RoleNetwork);
        var modelFile = _scratch.WriteModel(model);
        Assert.True(new RemoveStack { BuildEngine = _scratch.Build, ModelFile = modelFile, Engine = engine }.Execute());
        Assert.Equal(["hello-proxy"], engine.Containers.Keys);
        Assert.Empty(engine.Networks);
        Assert.True(new RemoveStack { BuildEngine = new CapturingBuildEngine(), ModelFile = modelFile, Engine = engine }.Execute());
    }
}
