using ProxyStack.Diagnostics;
using ProxyStack.Engine;
using ProxyStack.Execution;
using ProxyStack.Model;
using ProxyStack.MSBuild;
using ProxyStack.Planning;
using Xunit;

using ProxyStack.IntegrationTests.Infrastructure;

namespace ProxyStack.Tests;

/// <summary>ProxyStack never touches what it did not create, never exposes more than asked, and fails with codes, never traces.</summary>
public sealed class TrustTests : IDisposable
{
    private readonly TaskScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    // ---- Validation is exact ----

    [Theory]
    [InlineData("127.1", "127.0.0.1")]
    [InlineData("0177.0.0.1", "127.0.0.1")]
    [InlineData("0x7f.0.0.1", "127.0.0.1")]
    [InlineData("2130706433", "127.0.0.1")]
    [InlineData("127.0.0.01", "127.0.0.1")]
    [InlineData("[::1]", "::1")]
    [InlineData("::ffff:0.0.0.0", "0.0.0.0")]
    [InlineData("::FFFF:127.0.0.1", "127.0.0.1")]
    [InlineData("0:0:0:0:0:0:0:1", "::1")]
    public void A_host_address_docker_would_read_differently_is_refused_with_its_canonical_form(string raw, string canonical)
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { HostAddress = raw });
        Assert.Null(model);
        Assert.Equal($"STACK1019: StackHostAddress is '{raw}', which Docker does not read as the address '{canonical}' (and would publish on every interface). Write it as '{canonical}'.",
            Assert.Single(diagnostics).Format());
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("192.168.1.10")]
    [InlineData("10.0.0.1")]
    public void Every_non_loopback_address_warns_with_STACK1011(string address)
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { HostAddress = address });
        Assert.Equal(address, model!.HostAddress);
        var d = Assert.Single(diagnostics);
        Assert.Equal($"STACK1011: StackHostAddress is '{address}', not a loopback address: the proxy will accept connections from other machines (from every interface for 0.0.0.0 and ::). Set StackHostAddress to 127.0.0.1 unless you mean to expose the stack.", d.Format());
        Assert.False(d.IsError);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("127.0.0.2")]
    public void Loopback_addresses_pass_without_a_warning(string address) =>
        Assert.Empty(StackModelBuilder.Build(Builders.ValidInput() with { HostAddress = address }).Diagnostics);

    [Theory]
    [InlineData("mirror.example.com")]
    [InlineData("localhost")]
    [InlineData("127.0.0.1:5000/hub")]
    public void Registry_hosts_docker_reads_as_registries_are_accepted_as_mirrors(string mirror) =>
        Assert.Empty(StackModelBuilder.Build(Builders.ValidInput() with { RegistryMirror = mirror }).Diagnostics);

    [Theory]
    [InlineData("root")]
    [InlineData("0")]
    [InlineData("0:0")]
    [InlineData("root:root")]
    public void ContainerUser_root_warns(string user)
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { ContainerUser = user });
        Assert.NotNull(model);
        Assert.Equal($"STACK1021: ContainerUser is '{user}': the replicas will run as root. Remove ContainerUser to run as the base image's unprivileged user (app, 1654).",
            Assert.Single(diagnostics).Format());
    }

    [Theory]
    [InlineData("ASPNETCORE_URLS")]
    [InlineData("ASPNETCORE_HTTP_PORTS")]
    [InlineData("aspnetcore_https_ports")]
    public void An_environment_item_ProxyStack_overrides_is_an_error_naming_StackAppPort(string name)
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { Environment = [new(name, "http://+:5000")] });
        Assert.Null(model);
        Assert.Equal($"STACK1022: StackEnvironment item '{name}' would be overridden: ProxyStack sets it on every replica. Set StackAppPort for the port the app listens on instead, and remove the item.",
            Assert.Single(diagnostics).Format());
    }

    [Fact]
    public void Host_mode_with_a_privileged_host_port_is_refused_before_anything_starts()
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { NetworkMode = "host", HostPort = "80" });
        Assert.Null(model);
        Assert.Equal("STACK1020", Assert.Single(diagnostics).Code);
    }

    // ---- Ownership ----

    /// <summary>A container someone started by hand from the app image: it inherits the image's labels and nothing else.</summary>
    private static ObservedContainer Bystander(string name, IReadOnlyDictionary<string, string>? labels = null) =>
        new("c".PadLeft(64, 'c'), name, labels ?? new Dictionary<string, string> { [StackLabels.ImageOf] = "hello" }, true);

    [Fact]
    public void A_container_started_by_hand_from_the_app_image_is_not_part_of_the_stack()
    {
        var model = Builders.Model(2);
        // Also one from an image of an older version, which carried the ownership label itself.
        var legacy = Bystander("legacy", new Dictionary<string, string> { [StackLabels.Stack] = "hello" });
        var observed = Builders.Running(model, NginxConfig(model));
        observed = observed with { Containers = [.. observed.Containers, Bystander("bystander"), legacy] };
        Assert.True(Builders.Reconcile(model, observed).Plan.IsEmpty);
        Assert.True(Builders.Reconcile(Builders.Model(1), observed).Plan.Steps.All(s => !s.Resource.Contains("bystander") && !s.Resource.Contains("legacy")));
        Assert.DoesNotContain(Reconciler.PlanTeardown("hello", observed).Steps, s => s.Resource is "bystander" or "legacy");
        Assert.Equal(3, Reconciler.PlanTeardown("hello", observed).Steps.Count(s => s.Kind == StepKind.RemoveContainer));
    }

    [Fact]
    public void A_hand_made_container_holding_a_replica_name_stops_a_scale_up_with_STACK4001()
    {
        var model = Builders.Model(3);
        var observed = Builders.Running(Builders.Model(2), NginxConfig(Builders.Model(2)));
        observed = observed with { Containers = [.. observed.Containers, Bystander("hello-app-3", new Dictionary<string, string> { [StackLabels.Stack] = "hello", [StackLabels.Role] = "app", [StackLabels.Replica] = "3" })] };
        var result = Builders.Reconcile(model, observed);
        Assert.True(result.Plan.IsEmpty);
        Assert.Equal("STACK4001", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void A_stack_owned_by_another_checkout_is_refused_with_STACK4012_naming_the_owner()
    {
        var model = Builders.Model(2);
        var other = model with { Owner = "ci-7:/builds/shop" };
        var result = Builders.Reconcile(model, Builders.Running(other, NginxConfig(other)));
        Assert.True(result.Plan.IsEmpty);
        Assert.Equal("STACK4012: Stack 'hello' belongs to another checkout ('ci-7:/builds/shop'); this project is 'devbox:/src/hello'. ProxyStack leaves it alone: set StackName to another name for this checkout, stop the other one (dotnet build -t:StackDown there), or pass -p:StackAdopt=true to remove it and take the name over.",
            Assert.Single(result.Diagnostics).Format());
    }

    [Fact]
    public void Kept_volumes_of_another_checkout_are_STACK4022_naming_them_and_the_command_that_removes_them()
    {
        var model = Builders.Model(2);
        var theirs = Reconciler.Labels(model with { Owner = "ci-7:/builds/shop" }, StackLabels.RoleKeys);
        // Nothing of the stack runs: only the images are there, and their volumes.
        var observed = Builders.Running(model, NginxConfig(model)) with
        {
            Containers = [], Networks = [], Volumes = [new ObservedVolume("hello-keys", theirs), new ObservedVolume("hello-appdata", theirs)],
        };
        var result = Builders.Reconcile(model, observed);
        Assert.True(result.Plan.IsEmpty);
        Assert.Equal("STACK4022: Stack 'hello': its volume(s) hello-appdata, hello-keys belong to another checkout ('ci-7:/builds/shop'), whose stack is down but whose kept data (key rings, databases) is not; this project is 'devbox:/src/hello'. ProxyStack leaves them alone: set StackName to another name for this checkout, remove them in that checkout (dotnet build -t:StackDown -p:StackRemoveVolumes=true there), or pass -p:StackAdopt=true to remove them and take the name over.",
            Assert.Single(result.Diagnostics).Format());
        // With a container of theirs up as well, it is their stack that is in the way: STACK4012.
        var up = Builders.Running(model with { Owner = "ci-7:/builds/shop" }, NginxConfig(model));
        Assert.Equal("STACK4012", Assert.Single(Builders.Reconcile(model, up with { Volumes = observed.Volumes }).Diagnostics).Code);

        var engine = new FakeEngine();
        foreach (var v in observed.Volumes) engine.Volumes[v.Name] = v.Labels.ToDictionary();
        Assert.False(new RemoveStack { BuildEngine = _scratch.Build, ModelFile = _scratch.WriteModel(model), Engine = engine, RemoveVolumes = "true" }.Execute());
        Assert.Equal("STACK4022", Assert.Single(_scratch.Build.Errors).Code);
        Assert.Equal(2, engine.Volumes.Count);
    }

    [Fact]
    public void StackDown_refuses_another_checkouts_stack_and_removes_it_with_StackAdopt()
    {
        var model = Builders.Model(1);
        var other = model with { Owner = "ci-7:/builds/shop" };
        var engine = EngineWith(Builders.Running(other, NginxConfig(other)));
        Assert.False(new RemoveStack { BuildEngine = _scratch.Build, ModelFile = _scratch.WriteModel(model), Engine = engine }.Execute());
        Assert.Equal("STACK4012", Assert.Single(_scratch.Build.Errors).Code);
        Assert.Equal(2, engine.Containers.Count);
        Assert.DoesNotContain(engine.Calls, c => c.StartsWith("rm ") || c.StartsWith("stop "));

        Assert.True(new RemoveStack { BuildEngine = new CapturingBuildEngine(), ModelFile = _scratch.WriteModel(model with { Adopt = true }), Engine = engine }.Execute());
        Assert.Empty(engine.Containers);
        Assert.Empty(engine.Networks);
    }

    [Fact]
    public void StackDown_never_removes_a_bystander_from_the_app_image()
    {
        var model = Builders.Model(1);
        var engine = EngineWith(Builders.Running(model, NginxConfig(model)));
        engine.Containers["bystander"] = ("c".PadLeft(64, 'c'), new Dictionary<string, string> { [StackLabels.Stack] = "hello", [StackLabels.ImageOf] = "hello" }, true);
        Assert.True(new RemoveStack { BuildEngine = _scratch.Build, ModelFile = _scratch.WriteModel(model), Engine = engine }.Execute());
        Assert.Equal(["bystander"], engine.Containers.Keys);
    }

    // ---- Readiness is a fact ----

    [Fact]
    public void A_replica_that_does_not_pass_the_current_probe_is_replaced_and_the_others_kept()
    {
        var model = Builders.Model(2);
        var observed = Builders.Running(model, NginxConfig(model)) with { UnreadyReplicas = new Dictionary<string, string> { ["hello-app-2"] = "GET /nope → HTTP 404 NotFound" } };
        var result = Builders.Reconcile(model, observed);
        Assert.Equal("""
             1. retire hello-app-2 as hello-app-2-retiring-aaaaaaaaaaaa: not ready (GET /nope → HTTP 404 NotFound)
             2. create hello-app-2: not ready (GET /nope → HTTP 404 NotFound) (after 1)
             3. start hello-app-2: not ready (GET /nope → HTTP 404 NotFound) (after 2)
             4. wait ready hello-app-2: not ready (GET /nope → HTTP 404 NotFound) (after 3)
             5. reload hello-proxy: replicas changed (after 4)
             6. drain hello-proxy: let in-flight requests finish (after 5)
             7. stop hello-app-2-retiring-aaaaaaaaaaaa: replaced (after 6)
             8. remove hello-app-2-retiring-aaaaaaaaaaaa: replaced (after 7)
            """.ReplaceLineEndings("\n").TrimEnd(), result.Plan.ToString());
        Assert.Contains("hello-app-1", result.Kept);
    }

    [Fact]
    public async Task The_observer_proves_readiness_with_the_current_health_path()
    {
        using var replicas = new OkServer();
        var model = Builders.Model(1) with { AppPort = replicas.Port };
        var engine = EngineWith(Builders.Running(model, NginxConfig(model)));
        engine.Address = "127.0.0.1";
        var observed = await new StackObserver(engine, new NullStackLog()).ObserveAsync(model, [Builders.AppImage], CancellationToken.None);
        Assert.Empty(observed.UnreadyReplicas);

        engine.Address = null;
        observed = await new StackObserver(engine, new NullStackLog()).ObserveAsync(model, [Builders.AppImage], CancellationToken.None);
        Assert.Equal("no address on hello-net", observed.UnreadyReplicas["hello-app-1"]);
    }

    // ---- A failed change never removes what was serving ----

    [Fact]
    public void A_proxy_replacement_that_fails_brings_the_old_proxy_back_serving_and_says_so()
    {
        using var replicas = new OkServer();
        var model = Builders.Model(1) with { AppPort = replicas.Port, HostPort = Ports.Free(), ReadyTimeoutSeconds = 1 };
        var engine = EngineWith(Builders.Running(model, NginxConfig(model)));
        engine.Address = "127.0.0.1";
        engine.Images[model.NginxImage] = "sha256:nginx2"; // a new nginx base: the proxy must be replaced on the same port
        engine.CrashOnStart["hello-proxy-check"] = 0; // nginx -t passes
        var oldId = engine.Containers["hello-proxy"].Id;

        Assert.False(_scratch.Apply(model, engine).Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK4010", error.Code);
        Assert.EndsWith("Everything this bring-up created was removed and the stack is as it was.", error.Message);
        var proxy = engine.Containers["hello-proxy"];
        Assert.Equal(oldId, proxy.Id);
        Assert.True(proxy.Running);
        Assert.DoesNotContain(engine.Containers.Keys, k => k.Contains("retiring") || k.Contains("check"));
        // Order: checked, stepped aside, stopped; after the failure the new one removed, the old one started and renamed back.
        var calls = engine.Calls.Where(c => c.Contains("hello-proxy")).ToList();
        Assert.True(calls.IndexOf("start hello-proxy-check") < calls.FindIndex(c => c.StartsWith("rename hello-proxy hello-proxy-retiring")), string.Join("\n", calls));
        Assert.Equal("rename hello-proxy-retiring-bbbbbbbbbbbb hello-proxy", calls[^1]);
    }

    [Fact]
    public void A_config_nginx_rejects_in_the_new_image_stops_the_replacement_before_the_old_proxy_is_touched()
    {
        using var replicas = new OkServer();
        var model = Builders.Model(1) with { AppPort = replicas.Port, HostPort = Ports.Free() };
        var engine = EngineWith(Builders.Running(model, NginxConfig(model)));
        engine.Address = "127.0.0.1";
        engine.Images[model.NginxImage] = "sha256:nginx2";
        engine.CrashOnStart["hello-proxy-check"] = 1;

        Assert.False(_scratch.Apply(model, engine).Execute());
        Assert.Equal("STACK4008", Assert.Single(_scratch.Build.Errors).Code);
        Assert.DoesNotContain(engine.Calls, c => c.StartsWith("rename hello-proxy ") || c.StartsWith("stop hello-proxy"));
        Assert.True(engine.Containers["hello-proxy"].Running);
        Assert.False(engine.Containers.ContainsKey("hello-proxy-check"));
    }

    [Fact]
    public void A_failed_undo_is_a_STACK4013_warning_and_the_error_says_the_rollback_is_incomplete()
    {
        using var replicas = new OkServer();
        var model = Builders.Model(1) with { AppPort = replicas.Port, HostPort = Ports.Free(), ReadyTimeoutSeconds = 1 };
        var engine = EngineWith(Builders.Running(model, NginxConfig(model)));
        engine.Address = "127.0.0.1";
        engine.Images[model.NginxImage] = "sha256:nginx2";
        engine.CrashOnStart["hello-proxy-check"] = 0;
        engine.FailingCalls.Add("start hello-proxy-retiring");

        Assert.False(_scratch.Apply(model, engine).Execute());
        var warning = Assert.Single(_scratch.Build.Warnings);
        Assert.Equal("STACK4013", warning.Code);
        Assert.Contains("stop hello-proxy-retiring-bbbbbbbbbbbb", warning.Message);
        Assert.EndsWith("The rollback could not undo 1 step(s) (see the STACK4013 warnings); the rest of the stack is as it was.", Assert.Single(_scratch.Build.Errors).Message);
    }

    [Fact]
    public void Teardown_that_cannot_remove_a_resource_removes_the_others_and_reports_STACK4009()
    {
        var model = Builders.Model(2);
        var engine = EngineWith(Builders.Running(model, NginxConfig(model)));
        engine.FailingCalls.Add("rm hello-app-2");
        Assert.False(new RemoveStack { BuildEngine = _scratch.Build, ModelFile = _scratch.WriteModel(model), Engine = engine }.Execute());
        var error = Assert.Single(_scratch.Build.Errors);
        Assert.Equal("STACK4009", error.Code);
        Assert.Contains("'hello-app-2'", error.Message);
        Assert.Equal(["hello-app-2"], engine.Containers.Keys);
        Assert.Empty(engine.Networks);
    }

    // ---- Every failure is a STACK code ----

    public static TheoryData<string> Faults => new()
    {
        nameof(EngineUnavailableException), nameof(EngineRequestException), nameof(EngineEndpointException), nameof(IOException),
        nameof(UnauthorizedAccessException), nameof(InvalidOperationException), nameof(HttpRequestException), nameof(NullReferenceException),
        nameof(TimeoutException), nameof(System.Text.Json.JsonException),
    };

    private static Exception Make(string fault) => fault switch
    {
        nameof(EngineUnavailableException) => new EngineUnavailableException("fake://engine", "connection refused"),
        nameof(EngineRequestException) => new EngineRequestException("list containers", "server error", conflict: false),
        nameof(EngineEndpointException) => new EngineEndpointException("ssh://u@h", "ssh:// endpoints are not supported."),
        nameof(IOException) => new IOException("disk full"),
        nameof(UnauthorizedAccessException) => new UnauthorizedAccessException("denied"),
        nameof(InvalidOperationException) => new InvalidOperationException("driver state"),
        nameof(HttpRequestException) => new HttpRequestException("stream ended"),
        nameof(NullReferenceException) => new NullReferenceException("oops"),
        nameof(TimeoutException) => new TimeoutException("slow"),
        _ => new System.Text.Json.JsonException("bad json"),
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void Every_task_that_touches_the_engine_turns_every_exception_into_a_STACK_code_without_a_trace(string fault)
    {
        var model = Builders.Model(1);
        var modelFile = _scratch.WriteModel(model);
        var stamp = Path.Combine(_scratch.Dir, "app-image.stamp");
        File.WriteAllLines(stamp, ["hello:latest", "sha256:gone"]);
        StackTask[] tasks =
        [
            new ProbeStackEngine(),
            new ApplyStack { ModelFile = modelFile, AppImage = Builders.AppImage, ProxyImage = Builders.ProxyImage, ProxyConfigFile = _scratch.ConfigFile },
            new RemoveStack { ModelFile = modelFile },
            new GetStackStatus { ModelFile = modelFile },
            new BuildStackProxyImage { ModelFile = modelFile, ConfigFile = _scratch.ConfigFile, ProxyImage = Builders.ProxyImage, BaseImageId = Builders.NginxId },
            new InspectStackProxyBase { ModelFile = modelFile, StampFile = Path.Combine(_scratch.Dir, "nginx-base.stamp") },
            new ValidateStackImageStamp { StampFile = stamp },
            new RecordStackAppImage { Image = "hello:latest", StampFile = stamp },
            new ValidateStackImageTags { Repository = "hello", Tag = "latest", StackName = "hello" },
        ];
        foreach (var task in tasks)
        {
            var build = new CapturingBuildEngine();
            task.BuildEngine = build;
            task.Engine = new ThrowingEngine(Make(fault));
            Assert.False(task.Execute(), task.GetType().Name);
            var error = Assert.Single(build.Errors);
            // The engine's own failures keep their codes; anything else is STACK3005 with the exception's type and message.
            var expected = fault switch
            {
                nameof(EngineUnavailableException) => "STACK3001",
                nameof(EngineRequestException) => "STACK3002",
                nameof(EngineEndpointException) => "STACK3004",
                _ => "STACK3005",
            };
            Assert.True(expected == error.Code, $"{task.GetType().Name}: {error.Code} {error.Message}");
            if (expected == "STACK3005") Assert.Contains($"({fault}: ", error.Message);
            Assert.DoesNotContain("   at ", error.Message);
            Assert.DoesNotContain("MSB4018", error.Message);
        }
    }

    [Theory]
    [InlineData("ssh://u@h", "ssh:// endpoints are not supported")]
    [InlineData("localhost:2375", "it has no scheme. Write it as tcp://localhost:2375")]
    [InlineData("garbage", "it has no scheme")]
    [InlineData("ftp://h", "'ftp://' is not an engine scheme")]
    [InlineData("tcp://", "it is not a valid address")]
    [InlineData("unix://", "it is not a valid address")]
    public void An_unusable_engine_endpoint_is_STACK3004_saying_what_to_use(string endpoint, string says)
    {
        var build = new CapturingBuildEngine();
        Assert.False(new ProbeStackEngine { BuildEngine = build, DockerHost = endpoint }.Execute());
        var error = Assert.Single(build.Errors);
        Assert.Equal("STACK3004", error.Code);
        Assert.Contains(says, error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Malformed_user_secrets_are_STACK1023_naming_the_file_before_the_engine_is_touched(bool ofStackProject)
    {
        var id = "proxystack-test-" + Guid.NewGuid().ToString("N");
        var dir = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".microsoft", "usersecrets", id);
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "secrets.json"), "{ \"Db\": ");
            var engine = new FakeEngine();
            var task = _scratch.Apply(Builders.Model(1), engine);
            // The front project's, or a StackProject's own (the UserSecretsId its image item carries).
            if (ofStackProject)
                task.ProjectImages = [new Microsoft.Build.Utilities.TaskItem("api", new Dictionary<string, string> { ["Image"] = "sha256:api", ["UserSecretsId"] = id })];
            else
                task.UserSecretsId = id;
            Assert.False(task.Execute());
            var error = Assert.Single(_scratch.Build.Errors);
            Assert.Equal("STACK1023", error.Code);
            Assert.Contains(Path.Combine(dir, "secrets.json"), error.Message);
            Assert.Empty(engine.Calls);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // ---- A dotnet run stack never outlives its dotnet run ----

    [Theory]
    [InlineData(true, "false", "on-failure")]
    [InlineData(true, "true", "unless-stopped")]
    [InlineData(false, "false", "unless-stopped")]
    public void A_dotnet_run_stack_that_is_not_kept_restarts_after_a_crash_but_not_after_an_engine_restart(bool underRun, string keep, string policy)
    {
        var model = StackModelBuilder.Build(Builders.ValidInput() with { UnderRun = underRun, KeepRunning = keep }).Model!;
        Assert.Equal(underRun && keep == "false", model.Ephemeral);
        Assert.Equal(policy, ContainerSpecs.App(model, "hello-app-1", 1, Builders.AppImageId, "h").RestartPolicy);
        Assert.Equal(policy, ContainerSpecs.Proxy(model, "sha256:p", Builders.NginxId, "h").RestartPolicy);
        // Not part of the hash: a dotnet run reusing a kept stack keeps its containers.
        Assert.Equal(Reconciler.AppHash(model with { Ephemeral = false }, "sha256:x"), Reconciler.AppHash(model with { Ephemeral = true }, "sha256:x"));
    }

    [Fact]
    public void The_run_registry_leaves_the_stack_to_a_run_that_is_still_alive()
    {
        var stack = "pst-runs-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            Assert.True(RunRegistry.Register(stack, Environment.ProcessId));
            Assert.False(RunRegistry.Register(stack, Environment.ProcessId)); // its reaper is already running
            // Seen from another run that ended: this live process still uses the stack.
            Assert.Equal([Environment.ProcessId], RunRegistry.OthersAlive(stack, 1));
            // A registration whose process is gone (or whose pid was reused) does not count, and is cleaned up.
            File.WriteAllText(Path.Combine(RunRegistry.FolderFor(stack), "999999"), "12345");
            // StackDown's pruning: the ended run leaves, the live one stays.
            Assert.Equal([Environment.ProcessId], RunRegistry.RemoveEnded(stack));
            Assert.False(File.Exists(Path.Combine(RunRegistry.FolderFor(stack), "999999")));
            File.WriteAllText(Path.Combine(RunRegistry.FolderFor(stack), "999999"), "12345");
            RunRegistry.Unregister(stack, Environment.ProcessId);
            Assert.Empty(RunRegistry.OthersAlive(stack, 1));
            // The last registration gone, the stack's folder goes too: runs leave nothing in the temp folder.
            Assert.False(Directory.Exists(RunRegistry.FolderFor(stack)));
        }
        finally { if (Directory.Exists(RunRegistry.FolderFor(stack))) Directory.Delete(RunRegistry.FolderFor(stack), recursive: true); }
    }

    [Fact]
    public void The_unit_tests_keep_their_locks_and_run_registrations_out_of_the_machines_temp_folder()
    {
        // These tests run tasks for stacks named like a user's: under the machine's temp folder they would wait for (and hold
        // up) a bring-up of the sample in progress, or of any stack of those names. See PrivateTempFolder.
        foreach (var stack in new[] { "hello", "hellostack" })
        {
            Assert.StartsWith(PrivateTempFolder.Path, StackLock.PathFor(stack), StringComparison.Ordinal);
            Assert.StartsWith(PrivateTempFolder.Path, RunRegistry.FolderFor(stack), StringComparison.Ordinal);
        }
        Assert.Contains("proxystack-unit-tests-", PrivateTempFolder.Path, StringComparison.Ordinal);
    }

    // ---- Bounded waits ----

    [Fact]
    public async Task A_lock_held_too_long_is_STACK4014_naming_the_holder()
    {
        var stack = "pst-lock-" + Guid.NewGuid().ToString("N")[..8];
        using var held = await StackLock.AcquireAsync(stack, new NullStackLog(), TimeSpan.FromSeconds(1), CancellationToken.None);
        var e = await Assert.ThrowsAsync<StackException>(() => StackLock.AcquireAsync(stack, new NullStackLog(), TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Equal("STACK4014", e.Diagnostic.Code);
        Assert.Contains($"pid {Environment.ProcessId}: ", e.Diagnostic.Format());
    }

    [Fact]
    public async Task A_lock_file_that_cannot_be_opened_is_STACK4015_naming_it()
    {
        var stack = "pst-lock-" + Guid.NewGuid().ToString("N")[..8];
        var path = StackLock.PathFor(stack);
        Directory.CreateDirectory(path); // something that is not a file the build may open
        try
        {
            var e = await Assert.ThrowsAsync<StackException>(() => StackLock.AcquireAsync(stack, new NullStackLog(), TimeSpan.FromSeconds(1), CancellationToken.None));
            Assert.Equal("STACK4015", e.Diagnostic.Code);
            Assert.Contains(path, e.Diagnostic.Format());
        }
        finally { Directory.Delete(path); }
    }

    // ---- Secrets stay secret ----

    [Fact]
    public void The_config_hash_cannot_confirm_a_guessed_secret_without_the_salt()
    {
        var model = Builders.Model(1);
        var secret = new KeyValuePair<string, string>("Db", "hunter2");
        string Hash(byte[] salt, string value) => Reconciler.AppHash(model with
        {
            Environment = [new("Db", value)], SecretNames = new HashSet<string> { "Db" }, SecretDigest = SecretDigests.Compute(salt, [new("Db", value)]),
        }, Builders.AppImageId);
        var salt = new byte[32];
        salt[0] = 1;
        var otherSalt = new byte[32];
        // The hash follows the secret (a new value recreates the replicas) …
        Assert.NotEqual(Hash(salt, "hunter2"), Hash(salt, "hunter3"));
        // … but without the salt nobody can recompute it: the plain value is not an input, and another salt gives another hash.
        Assert.NotEqual(Hash(salt, "hunter2"), Hash(otherSalt, "hunter2"));
        Assert.NotEqual(Hash(salt, "hunter2"), Reconciler.AppHash(model with { Environment = [secret] }, Builders.AppImageId));
    }

    [Fact]
    public void The_access_log_records_paths_without_query_strings()
    {
        var config = NginxConfig(Builders.Model(1));
        var format = config.Split('\n').Single(l => l.Contains("log_format"));
        Assert.Contains("$uri", format);
        Assert.DoesNotContain("$request ", format);
        Assert.DoesNotContain("$request\"", format);
        Assert.DoesNotContain("$request_uri", format);
        Assert.DoesNotContain("$args", format);
        Assert.DoesNotContain("$query_string", format);
    }

    [Fact]
    public void Secret_values_are_masked_in_log_tails()
    {
        Assert.Equal("connecting with password=*** failed", SecretDigests.Redact("connecting with password=hunter2 failed", ["hunter2", "x"]));
    }

    [Fact]
    public void The_salt_file_is_readable_by_its_owner_only_and_reused()
    {
        var path = Path.Combine(_scratch.Dir, "secret.salt");
        var salt = SecretDigests.LoadOrCreateSalt(path);
        Assert.Equal(salt, SecretDigests.LoadOrCreateSalt(path));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    /// <summary>
    /// PublishContainer moves the tags it writes off whatever image held them: a tag held by an image ProxyStack did not build
    /// for this stack is refused before the build (STACK2005, naming the tag, the image and what to rename), free tags and
    /// the stack's own are not, and ContainerImageTags is what the SDK writes when it is set.
    /// </summary>
    [Fact]
    public void Image_tags_held_by_an_image_not_built_for_the_stack_are_STACK2005_and_free_or_own_tags_pass()
    {
        Assert.Equal(["shop:latest"], ValidateStackImageTags.References("shop", "latest", ""));
        Assert.Equal(["shop:dev", "shop:1.0"], ValidateStackImageTags.References("shop", "latest", " dev ;1.0;dev"));
        Assert.Empty(ValidateStackImageTags.References("", "latest", ""));

        var engine = new FakeEngine();
        engine.Images["shop:latest"] = "sha256:0123456789abcdef0123";
        engine.Images["shop:mine"] = "sha256:feedfeedfeedfeedfeed";
        engine.ImageLabels["shop:mine"] = new() { [StackLabels.ImageOf] = "shop" };
        engine.Images["shop:theirs"] = "sha256:beefbeefbeefbeefbeef";
        engine.ImageLabels["shop:theirs"] = new() { [StackLabels.ImageOf] = "other" };
        (bool Ok, List<Microsoft.Build.Framework.BuildErrorEventArgs> Errors) Check(string tag, string tags = "", string project = "")
        {
            var build = new CapturingBuildEngine();
            var ok = new ValidateStackImageTags { BuildEngine = build, Engine = engine, Repository = "shop", Tag = tag, Tags = tags, StackName = "shop", Project = project }.Execute();
            return (ok, build.Errors);
        }

        Assert.True(Check("free").Ok);
        Assert.True(Check("mine").Ok);
        var (ok, errors) = Check("latest");
        Assert.False(ok);
        var error = Assert.Single(errors);
        Assert.Equal("STACK2005", error.Code);
        Assert.Equal("The tag shop:latest names image sha256:0123456789ab, and it was not built by ProxyStack: building stack 'shop's image would "
            + "move that tag onto it (and a docker push of shop:latest would then push the stack's image). Set ContainerRepository (or StackName) "
            + "to a name of the stack's own, or remove the tag if you no longer need it (docker image rm shop:latest). Nothing was built or changed.", error.Message);
        Assert.Contains("it was built for stack 'other'", Assert.Single(Check("latest", "free;theirs").Errors).Message);
        Assert.Contains("Give StackProject 'api' another Name", Assert.Single(Check("theirs", project: "api").Errors).Message);
        // Both refused tags are named, each once.
        Assert.Equal(2, Check("", "latest;theirs;mine").Errors.Count);
    }

    private static string NginxConfig(StackModel model) => Proxy.NginxConfigWriter.Write(model);

    private static FakeEngine EngineWith(ObservedState observed) => new FakeEngine().Holding(observed);
}
