using ProxyStack.Engine;
using ProxyStack.Execution;
using ProxyStack.Model;
using ProxyStack.Planning;
using Xunit;

using ProxyStack.IntegrationTests.Infrastructure;

namespace ProxyStack.Tests;

/// <summary>The shared Data Protection key ring (StackSharedKeys): where it is mounted, when its volume is made and removed.</summary>
public sealed class KeyRingTests : IDisposable
{
    private readonly TaskScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private static StackModel Model(int replicas = 3, string sharedKeys = "", bool storesOwnKeys = false, params KeyValuePair<string, string>[] env) =>
        StackModelBuilder.Build(Builders.ValidInput() with
        {
            StackName = "hello", Replicas = replicas.ToString(), SharedKeys = sharedKeys, StoresOwnKeys = storesOwnKeys, Environment = env,
        }).Model!;

    private static ObservedVolume OurVolume(StackModel model) => new(model.KeysVolumeName, Reconciler.Labels(model, StackLabels.RoleKeys));

    [Fact]
    public void A_fresh_stack_creates_the_key_ring_volume_first_and_starts_one_replica_before_the_others()
    {
        // ASP.NET Core creates a key at startup when the ring is empty: replicas starting together would each make their own.
        var model = Model();
        Builders.AssertPlan("""
             1. create network hello-net: missing
             2. create volume hello-keys: missing
             3. create hello-app-1: missing (after 1,2)
             4. start hello-app-1: missing (after 3)
             5. wait ready hello-app-1: missing (after 4)
             6. create hello-app-2: missing (after 1,2)
             7. start hello-app-2: missing (after 5,6)
             8. wait ready hello-app-2: missing (after 7)
             9. create hello-app-3: missing (after 1,2)
            10. start hello-app-3: missing (after 5,9)
            11. wait ready hello-app-3: missing (after 10)
            12. create hello-proxy: missing (after 1,5,8,11)
            13. start hello-proxy: missing (after 12)
            14. wait proxy hello-proxy: missing (after 13)
            """, Builders.Reconcile(model, new ObservedState { ImageIds = Builders.Images() }));
    }

    [Fact]
    public void A_kept_key_ring_is_reused_and_new_replicas_start_together()
    {
        var model = Model();
        var observed = new ObservedState
        {
            ImageIds = Builders.Images(),
            Networks = [new ObservedNetwork("n1", model.NetworkName, Reconciler.Labels(model, StackLabels.RoleNetwork))],
            Volumes = [OurVolume(model)],
        };
        var plan = Builders.Reconcile(model, observed).Plan;
        Assert.DoesNotContain(plan.Steps, s => s.Kind == StepKind.CreateVolume);
        Assert.All(plan.Steps.Where(s => s.Kind == StepKind.StartContainer && s.Resource.Contains("-app-")), s => Assert.Single(s.DependsOn));
    }

    [Fact]
    public void Replicas_mount_the_ring_where_ASP_NET_Core_looks_by_default_owned_by_their_user()
    {
        var model = Model();
        var spec = ContainerSpecs.App(model, model.AppName(1), 1, Builders.AppImageId, "h");
        Assert.Equal([new VolumeMount("hello-keys", "/proxystack/ASP.NET/DataProtection-Keys", OwnedByContainerUser: true)], spec.Mounts);
        Assert.Contains(new KeyValuePair<string, string>("LOCALAPPDATA", "/proxystack"), spec.Environment);

        // The project's own LOCALAPPDATA is kept, and the ring goes under it.
        var own = Model(env: new KeyValuePair<string, string>("LOCALAPPDATA", "/data"));
        var ownSpec = ContainerSpecs.App(own, own.AppName(1), 1, Builders.AppImageId, "h");
        Assert.Equal("/data/ASP.NET/DataProtection-Keys", Assert.Single(ownSpec.Mounts).Target);
        Assert.Equal(["/data"], ownSpec.Environment.Where(e => e.Key == "LOCALAPPDATA").Select(e => e.Value));

        // An empty LOCALAPPDATA is none: ASP.NET Core would read it as a relative path, so ProxyStack's replaces it.
        var empty = Model(env: new KeyValuePair<string, string>("LOCALAPPDATA", ""));
        var emptySpec = ContainerSpecs.App(empty, empty.AppName(1), 1, Builders.AppImageId, "h");
        Assert.Equal("/proxystack/ASP.NET/DataProtection-Keys", Assert.Single(emptySpec.Mounts).Target);
        Assert.Equal(["/proxystack"], emptySpec.Environment.Where(e => e.Key == "LOCALAPPDATA").Select(e => e.Value));

        // Mounting the ring recreates replicas that had none; a stack without it keeps its hash.
        Assert.NotEqual(Reconciler.AppHash(model, "sha256:x"), Reconciler.AppHash(Model(sharedKeys: "false"), "sha256:x"));
    }

    private static StackModel WithApi(string appOnHost = "false") => StackModelBuilder.Build(Builders.ValidInput() with
    {
        StackName = "hello", Replicas = "2", SharedKeys = "", AppOnHost = appOnHost,
        Projects = [new ProjectInput("api") { Path = "../Api/Api.csproj", Route = "/api", Replicas = "2", ItemEnvironment = [new("LOCALAPPDATA", "/data")] }],
    }).Model!;

    private static ReconcileResult ReconcileWithApi(StackModel model, ObservedState observed) =>
        Reconciler.Reconcile(model, observed with { ImageIds = new Dictionary<string, string>(Builders.Images()) { ["hello-api:latest"] = "sha256:api1" } },
            Builders.AppImage, Builders.ProxyImage, ProxyStack.Proxy.NginxConfigWriter.Write(model), new Dictionary<string, string> { ["api"] = "hello-api:latest" });

    [Fact]
    public void Each_StackProject_has_a_ring_of_its_own_under_its_own_LOCALAPPDATA_and_one_replica_writes_it_first()
    {
        // A ring belongs to one user (0700), and a project's image may run as another than the front project's: shared, the
        // ring would be given to whichever set was created last and the other could read no key.
        var model = WithApi();
        Assert.Equal(["hello-keys", "hello-keys-api"], model.KeysVolumeNames);
        var api = model.SetOf("api")!;
        Assert.Equal([new VolumeMount("hello-keys-api", "/data/ASP.NET/DataProtection-Keys", OwnedByContainerUser: true)],
            ContainerSpecs.App(api, api.AppName(1), 1, "sha256:api1", "h").Mounts);
        Assert.Equal(["/data"], StackNetworking.AppEnvironment(api, 1).Where(e => e.Key == "LOCALAPPDATA").Select(e => e.Value));
        Assert.Equal([new VolumeMount("hello-keys", "/proxystack/ASP.NET/DataProtection-Keys", OwnedByContainerUser: true)],
            ContainerSpecs.App(model, model.AppName(1), 1, Builders.AppImageId, "h").Mounts);

        // Both rings are new: each set's replicas are created after its own ring, and its first replica starts alone.
        var plan = ReconcileWithApi(model, new ObservedState()).Plan;
        int Step(StepKind kind, string resource) => plan.Steps.Single(s => s.Kind == kind && s.Resource == resource).Id;
        var frontRing = Step(StepKind.CreateVolume, "hello-keys");
        var apiRing = Step(StepKind.CreateVolume, "hello-keys-api");
        foreach (var (set, ring, other) in new[] { (model, frontRing, apiRing), (api, apiRing, frontRing) })
        {
            Assert.Contains(ring, plan.Steps.Single(s => s.Id == Step(StepKind.CreateContainer, set.AppName(1))).DependsOn);
            Assert.DoesNotContain(other, plan.Steps.Single(s => s.Id == Step(StepKind.CreateContainer, set.AppName(2))).DependsOn);
            Assert.Contains(Step(StepKind.WaitReady, set.AppName(1)), plan.Steps.Single(s => s.Id == Step(StepKind.StartContainer, set.AppName(2))).DependsOn);
        }

        // The API's ring kept, the front's new: only the front's replicas wait for a first writer.
        var kept = ReconcileWithApi(model, new ObservedState { Volumes = [new ObservedVolume("hello-keys-api", Reconciler.Labels(model, StackLabels.RoleKeys))] }).Plan;
        Assert.Equal(["hello-keys"], kept.Steps.Where(s => s.Kind == StepKind.CreateVolume).Select(s => s.Resource));
        Assert.Single(kept.Steps.Single(s => s.Kind == StepKind.StartContainer && s.Resource == api.AppName(2)).DependsOn);

        // A ring names the set it belongs to: moving the API to its own ring replaces its replicas; the front's are unchanged.
        Assert.NotEqual(Reconciler.AppHash(api, "sha256:api1"), Reconciler.AppHash(api with { ProjectKey = "" }, "sha256:api1"));
    }

    [Theory]
    // StackSharedKeys unset: each project's own code decides, the front project's for itself only.
    [InlineData("", true, false, "", "/data/ASP.NET/DataProtection-Keys")]
    [InlineData("", false, true, "/proxystack/ASP.NET/DataProtection-Keys", "")]
    // Set, it holds for every project.
    [InlineData("true", true, true, "/proxystack/ASP.NET/DataProtection-Keys", "/data/ASP.NET/DataProtection-Keys")]
    [InlineData("false", false, false, "", "")]
    public void Whether_a_project_gets_a_ring_is_decided_by_its_own_code_unless_StackSharedKeys_says(string sharedKeys, bool frontStoresOwn, bool apiStoresOwn, string frontRing, string apiRing)
    {
        var model = StackModelBuilder.Build(Builders.ValidInput() with
        {
            StackName = "hello", SharedKeys = sharedKeys, StoresOwnKeys = frontStoresOwn,
            Projects = [new ProjectInput("api") { Path = "../Api/Api.csproj", Route = "/api", StoresOwnKeys = apiStoresOwn, ItemEnvironment = [new("LOCALAPPDATA", "/data")] }],
        }).Model!;
        Assert.Equal(frontRing, model.KeyRingDirectory);
        Assert.Equal(apiRing, model.SetOf("api")!.KeyRingDirectory);
        Assert.Equal(new[] { (frontRing, "hello-keys"), (apiRing, "hello-keys-api") }.Where(r => r.Item1.Length > 0).Select(r => r.Item2), model.KeysVolumeNames);
    }

    [Fact]
    public void The_front_projects_ring_is_not_made_while_the_front_project_runs_on_the_host_and_ring_names_are_no_volume_names()
    {
        var onHost = WithApi(appOnHost: "true");
        Assert.Equal(["hello-keys-api"], ReconcileWithApi(onHost, new ObservedState()).Plan.Steps.Where(s => s.Kind == StepKind.CreateVolume).Select(s => s.Resource));
        // Still the stack's name: held by a volume of someone else's, it is refused like every ring's.
        var foreign = ReconcileWithApi(onHost, new ObservedState { Volumes = [new ObservedVolume("hello-keys-api", new Dictionary<string, string>())] });
        Assert.True(foreign.Plan.IsEmpty);
        Assert.Equal("STACK4016: A volume named 'hello-keys-api' exists but does not belong to stack 'hello'. ProxyStack never touches it (it would mount it as one of the stack's Data Protection key rings): remove it (docker volume rm hello-keys-api), set StackName to another name, or set StackSharedKeys to false.",
            Assert.Single(foreign.Diagnostics).Format());

        // A backing container's volume may not take a ring's name.
        foreach (var volume in new[] { "keys", "keys-api", "keys-x" })
            Assert.Equal($"STACK1040: StackContainer 'cache' has Volume=\"{volume}:/data\": write name:/absolute/path (a named volume, kept across runs, not named keys, keys-…, appdata or appdata-…: those are the key rings' and the app's databases' volumes), pairs separated by ';'.",
                Assert.Single(StackModelBuilder.Build(Builders.ValidInput() with { Containers = [new ServiceInput("cache") { Image = "redis:7", Volume = volume + ":/data" }] }).Diagnostics, d => d.IsError).Format());
        Assert.DoesNotContain(StackModelBuilder.Build(Builders.ValidInput() with { Containers = [new ServiceInput("cache") { Image = "redis:7", Volume = "keystore:/data" }] }).Diagnostics, d => d.IsError);
    }

    [Fact]
    public void An_app_that_configures_its_own_key_storage_gets_no_ring_unless_StackSharedKeys_is_true()
    {
        Assert.True(KeyRing.ConfiguresOwnStorage(["builder.Services.AddDataProtection().PersistKeysToStackExchangeRedis(redis);"]));
        Assert.False(KeyRing.ConfiguresOwnStorage(["builder.Services.AddDataProtection();"]));
        var own = Model(storesOwnKeys: true);
        Assert.False(own.SharedKeys);
        Assert.Empty(ContainerSpecs.App(own, own.AppName(1), 1, Builders.AppImageId, "h").Mounts);
        Assert.DoesNotContain(StackNetworking.AppEnvironment(own, 1), e => e.Key == "LOCALAPPDATA");
        Assert.True(Model(sharedKeys: "true", storesOwnKeys: true).SharedKeys);
        Assert.False(Model(sharedKeys: "false").SharedKeys);
        Assert.Contains(StackModelBuilder.Build(Builders.ValidInput() with { SharedKeys = "yes" }).Diagnostics,
            d => d.Format() == "STACK1012: StackSharedKeys is 'yes'. Set StackSharedKeys to true or false.");
    }

    [Fact]
    public void A_volume_with_the_key_rings_name_that_ProxyStack_did_not_create_is_STACK4016_and_nothing_is_planned()
    {
        var model = Model();
        var result = Builders.Reconcile(model, new ObservedState
        {
            ImageIds = Builders.Images(),
            Volumes = [new ObservedVolume("hello-keys", new Dictionary<string, string>())],
        });
        Assert.True(result.Plan.IsEmpty);
        Assert.Equal("STACK4016: A volume named 'hello-keys' exists but does not belong to stack 'hello'. ProxyStack never touches it (it would mount it as one of the stack's Data Protection key rings): remove it (docker volume rm hello-keys), set StackName to another name, or set StackSharedKeys to false.",
            Assert.Single(result.Diagnostics).Format());
        // Without a ring to mount, the volume is none of ProxyStack's business.
        Assert.False(Builders.Reconcile(Model(sharedKeys: "false"), new ObservedState
        {
            ImageIds = Builders.Images(),
            Volumes = [new ObservedVolume("hello-keys", new Dictionary<string, string>())],
        }).HasErrors);
    }

    [Fact]
    public async Task StackDown_keeps_the_key_ring_and_names_it_and_StackRemoveVolumes_removes_it()
    {
        var model = Model(1);
        var engine = new FakeEngine();
        engine.Volumes[model.KeysVolumeName] = Reconciler.Labels(model, StackLabels.RoleKeys);
        engine.Volumes["bystander"] = new Dictionary<string, string>();
        var log = new CapturingStackLog();

        await StackTeardown.RunAsync(engine, log, "hello", owner: null, projectFile: "", CancellationToken.None);
        Assert.True(engine.Volumes.ContainsKey("hello-keys"));
        Assert.Contains("Stack 'hello': kept volume(s) hello-keys (the Data Protection key rings, so sign-ins and forms survive the next StackUp). Remove them with: dotnet build -t:StackDown -p:StackRemoveVolumes=true", log.Milestones);

        await StackTeardown.RunAsync(engine, log, "hello", owner: null, projectFile: "", CancellationToken.None, removeVolumes: true);
        Assert.Equal(["bystander"], engine.Volumes.Keys);

        Assert.False(new ProxyStack.MSBuild.RemoveStack { BuildEngine = _scratch.Build, ModelFile = _scratch.WriteModel(model), Engine = engine, RemoveVolumes = "maybe" }.Execute());
        Assert.Equal("StackRemoveVolumes is 'maybe'. Set StackRemoveVolumes to true or false.", Assert.Single(_scratch.Build.Errors).Message);
    }

    [Fact]
    public void A_failed_first_bring_up_removes_the_key_ring_volume_it_created()
    {
        using var replicas = new OkServer();
        var model = Model(2) with { AppPort = replicas.Port, HostPort = Ports.Free() };
        var engine = new FakeEngine { Address = "127.0.0.1" };
        engine.Images[Builders.AppImage] = Builders.AppImageId;
        engine.FailingCalls.Add("start hello-app-2");

        Assert.False(_scratch.Apply(model, engine).Execute());
        Assert.Equal("STACK4007", Assert.Single(_scratch.Build.Errors).Code);
        Assert.Empty(engine.Volumes);
        Assert.Contains("volume rm hello-keys", engine.Calls);
    }

    [Fact]
    public void A_creation_cancelled_in_flight_is_undone_when_the_engine_made_it_anyway()
    {
        // Ctrl-C while the create request is on its way: the engine creates the container, the client sees a cancellation.
        var model = Model(1, sharedKeys: "false") with { HostPort = Ports.Free() };
        var engine = new FakeEngine { CancelAfterCreating = "hello-app-1" };
        engine.Images[Builders.AppImage] = Builders.AppImageId;

        Assert.False(_scratch.Apply(model, engine).Execute());
        Assert.Equal("STACK4007", Assert.Single(_scratch.Build.Errors).Code);
        Assert.Empty(engine.Containers);
        Assert.Contains("rm hello-app-1", engine.Calls);
    }

    [Fact]
    public async Task A_throwaway_container_whose_create_was_cancelled_in_flight_is_removed_when_the_engine_made_it()
    {
        // The nginx -t check and the version probe: cancelled with the create on its way, the engine made it all the same.
        var model = Model(1);
        var check = ContainerSpecs.NginxVersionProbe(model, "sha256:nginx", DateTimeOffset.UtcNow);
        var engine = new FakeEngine { CancelAfterCreating = check.Name };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ThrowawayContainer.RunAsync(engine, check, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Empty(engine.Containers);
        Assert.Contains($"rm {check.Name}", engine.Calls);

        // What holds the name and is not the stack's is left alone.
        var bystander = new FakeEngine { CancelAfterCreating = check.Name };
        var foreign = check with { Labels = new Dictionary<string, string>() };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ThrowawayContainer.RunAsync(bystander, foreign, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.True(bystander.Containers.ContainsKey(check.Name));
    }

    [Theory]
    [InlineData("", 0, 0)]
    [InlineData("1654", 1654, 1654)]
    [InlineData("4242", 4242, 0)]
    [InlineData("1654:99", 1654, 99)]
    [InlineData("app", 1654, 1654)]
    [InlineData("app:staff", 1654, 50)]
    [InlineData("root", 0, 0)]
    public async Task The_container_user_is_resolved_as_the_engine_resolves_it(string user, int uid, int gid)
    {
        const string passwd = "root:x:0:0:root:/root:/bin/bash\napp:x:1654:1654:app:/home/app:/usr/sbin/nologin\n";
        const string group = "root:x:0:\nstaff:x:50:\napp:x:1654:\n";
        var read = new List<string>();
        Assert.Equal((uid, gid), await ContainerUser.ResolveAsync(user, p =>
        {
            read.Add(p);
            return Task.FromResult<string?>(p == "/etc/passwd" ? passwd : p == "/etc/group" ? group : null);
        }));
        // Only what is needed is read: nothing for root by default or a user and group both given by number, the group file
        // only for a group given by name.
        Assert.Equal(user is "" or "1654:99" ? [] : user.EndsWith(":staff") ? ["/etc/passwd", "/etc/group"] : ["/etc/passwd"], read);
    }

    [Theory]
    // A numeric user whose volume root is its own, 0700, needs nothing: the group only counts when the user names one.
    [InlineData("1654", 1654, 1654, 0b111_000_000, true)]
    [InlineData("1654", 1654, 0, 0b111_000_000, true)]
    [InlineData("1654:99", 1654, 99, 0b111_000_000, true)]
    [InlineData("1654:99", 1654, 1654, 0b111_000_000, false)]
    // Anything else is given again: another owner (a new volume is root's), a mode that lets others in or keeps the owner out.
    [InlineData("1654", 0, 0, 0b111_000_000, false)]
    [InlineData("1654", 1654, 1654, 0b111_101_101, false)]
    [InlineData("1654", 1654, 1654, 0b101_000_000, false)]
    [InlineData("4242", 1654, 1654, 0b111_000_000, false)]
    public void A_volume_root_already_the_numeric_users_own_is_recognised(string user, int uid, int gid, int mode, bool owns) =>
        Assert.Equal(owns, ContainerUser.Owns(ContainerUser.Numeric(user)!.Value, uid, gid, (UnixFileMode)mode));

    [Theory]
    [InlineData("1654", 1654, null)]
    [InlineData(" 1654:99 ", 1654, 99)]
    [InlineData("1654:", 1654, null)]
    public void A_user_given_by_number_needs_no_file_of_the_container(string user, int uid, int? gid) =>
        Assert.Equal((uid, gid), ContainerUser.Numeric(user));

    [Theory]
    [InlineData("")]
    [InlineData("app")]
    [InlineData("1654:staff")]
    [InlineData("-1")]
    public void A_user_given_by_name_or_root_by_default_is_not_taken_for_a_number(string user) => Assert.Null(ContainerUser.Numeric(user));

    [Theory]
    // Root, or a user and group given by number: the image's config says it all, no container is made.
    [InlineData("", "0:0", false)]
    [InlineData("1000:1000", "1000:1000", false)]
    // A number alone runs with the group of its passwd entry; a name needs the entry itself.
    [InlineData("1654", "1654:1654", true)]
    [InlineData("4242", "4242:0", true)]
    [InlineData("app", "1654:1654", true)]
    public async Task An_images_user_is_read_from_its_config_and_its_own_passwd_in_a_container_that_never_starts_and_is_removed(string user, string expected, bool reads)
    {
        var model = Model(1);
        var engine = new FakeEngine();
        engine.ImageUsers["sha256:api"] = user;
        engine.ImageFiles["sha256:api:/etc/passwd"] = "root:x:0:0:root:/root:/bin/bash\napp:x:1654:1654:app:/home/app:/usr/sbin/nologin\n";
        var (uid, gid) = await ImageUser.ResolveAsync(engine, model, "sha256:api", CancellationToken.None);
        Assert.Equal(expected, $"{uid}:{gid}");
        var created = engine.Calls.Where(c => c.StartsWith("create hello-proxy-user-", StringComparison.Ordinal)).ToList();
        Assert.Equal(reads ? 1 : 0, created.Count);
        Assert.Equal(reads, engine.Calls.Any(c => c.StartsWith("read hello-proxy-user-", StringComparison.Ordinal) && c.EndsWith(":/etc/passwd", StringComparison.Ordinal)));
        Assert.DoesNotContain(engine.Calls, c => c.StartsWith("start ", StringComparison.Ordinal));
        Assert.Empty(engine.Containers);
    }

    [Fact]
    public async Task A_user_probe_whose_create_was_cancelled_in_flight_is_removed_as_the_stacks_own()
    {
        // The probe's labels make it the stack's, which is what the undo of a cancelled create asks before removing it.
        var probe = ContainerSpecs.UserProbe(Model(1), "sha256:api", DateTimeOffset.UtcNow);
        var engine = new FakeEngine { CancelAfterCreating = probe.Name };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ThrowawayContainer.UseCreatedAsync(engine, probe, () => Task.FromResult(0), CancellationToken.None));
        Assert.Empty(engine.Containers);
        Assert.Contains($"rm {probe.Name}", engine.Calls);
    }

    [Fact]
    public async Task An_images_user_its_passwd_does_not_know_is_a_refusal_and_its_container_is_removed_all_the_same()
    {
        var engine = new FakeEngine();
        engine.ImageUsers["sha256:api"] = "ghost";
        engine.ImageFiles["sha256:api:/etc/passwd"] = "root:x:0:0:root:/root:/bin/bash\n";
        var refused = await Assert.ThrowsAsync<EngineRequestException>(() => ImageUser.ResolveAsync(engine, Model(1), "sha256:api", CancellationToken.None));
        Assert.Contains("its user 'ghost' is not in its /etc/passwd or /etc/group; set ContainerUser to a user the image has", refused.Message);
        Assert.Empty(engine.Containers);
        // An image the engine does not have is refused before anything is made.
        await Assert.ThrowsAsync<EngineRequestException>(() => ImageUser.ResolveAsync(engine, Model(1), "sha256:gone", CancellationToken.None));
        Assert.DoesNotContain(engine.Calls, c => c.StartsWith("create ", StringComparison.Ordinal) && c.Contains("gone"));
    }

    [Fact]
    public async Task A_user_name_the_container_does_not_know_is_not_guessed()
    {
        Assert.Null(await ContainerUser.ResolveAsync("ghost", _ => Task.FromResult<string?>("root:x:0:0:root:/root:/bin/bash\n")));
        Assert.Null(await ContainerUser.ResolveAsync("app", _ => Task.FromResult<string?>(null)));
    }
}

/// <summary>Keeps every milestone line, for assertions on what a user reads.</summary>
internal sealed class CapturingStackLog : IStackLog
{
    public List<string> Milestones { get; } = [];
    public void Milestone(string message) => Milestones.Add(message);
    public void Step(string message) { }
    public void Progress(string message) { }
    public void Detail(string message) { }
    public void Warn(ProxyStack.Diagnostics.Diagnostic warning) => Milestones.Add(warning.Format());
}
