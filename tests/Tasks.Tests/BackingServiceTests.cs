using ProxyStack.Engine;
using ProxyStack.Model;
using ProxyStack.Planning;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>StackContainer items: validation, start order, wiring, and the plans that bring them up, keep, replace and remove them.</summary>
public sealed class BackingServiceTests
{
    private static StackInput Input(params ServiceInput[] containers) => Builders.ValidInput() with { StackName = "hello", Containers = containers };

    private static StackModel Model(params ServiceInput[] containers) => StackModelBuilder.Build(Input(containers)).Model!;

    private static ServiceInput Redis(string name = "cache", string dependsOn = "") => new(name) { Image = "redis:7", DependsOn = dependsOn };

    private static ServiceInput Postgres(string name = "db") => new(name)
    {
        Image = "postgres:15", Environment = "POSTGRES_PASSWORD=secret;POSTGRES_DB=shop", Volume = "db-data:/var/lib/postgresql/data",
    };

    private static ObservedState Fresh(StackModel model) => new()
    {
        ImageIds = new Dictionary<string, string>(Builders.Images()) { ["redis:7"] = "sha256:redis1", ["postgres:15"] = "sha256:pg1" },
    };

    private static ObservedContainer Service(StackModel model, BackingService service, string imageId, bool running = true)
    {
        var spec = ContainerSpecs.Service(model, service, imageId, Reconciler.ServiceHash(model, service, imageId));
        return new ObservedContainer("s".PadLeft(64, 'c'), spec.Name, spec.Labels, running);
    }

    private static ObservedState Running(StackModel model)
    {
        var config = ProxyStack.Proxy.NginxConfigWriter.Write(model);
        var running = Builders.Running(model, config);
        var ids = Fresh(model).ImageIds;
        return running with
        {
            ImageIds = ids,
            Containers = [.. running.Containers, .. model.Services.Select(s => Service(model, s, ids[s.Image]))],
            Volumes = Reconciler.ServiceVolumeNames(model).Select(v => new ObservedVolume(v, Reconciler.Labels(model, StackLabels.RoleData))).ToList(),
        };
    }

    [Theory]
    [InlineData("Include", "Cache", "redis:7", "", "")]
    [InlineData("Include", "proxy", "redis:7", "", "")]
    [InlineData("Include", "app-1", "redis:7", "", "")]
    [InlineData("Image", "cache", "", "", "")]
    [InlineData("Image", "cache", "Redis:7", "", "")]
    [InlineData("ReadyWhen", "cache", "redis:7", "sometimes", "")]
    [InlineData("ReadyWhen", "cache", "redis:7", "log:(unclosed", "")]
    [InlineData("ReadyWhen", "cache", "redis:7", "http:no-slash", "")]
    [InlineData("Volume", "cache", "redis:7", "", "data")]
    [InlineData("Volume", "cache", "redis:7", "", "keys:/data")]
    public void A_StackContainer_with_bad_metadata_is_STACK1040_naming_the_item_and_the_metadata(string metadata, string name, string image, string readyWhen, string volume)
    {
        var (model, diagnostics) = StackModelBuilder.Build(Input(new ServiceInput(name) { Image = image, ReadyWhen = readyWhen, Volume = volume }));
        Assert.Null(model);
        var error = Assert.Single(diagnostics, d => d.IsError);
        Assert.Equal("STACK1040", error.Code);
        Assert.Contains($"StackContainer '{name}' has {metadata}=", error.Format());
    }

    [Theory]
    [InlineData("redis-server --appendonly yes", new[] { "redis-server", "--appendonly", "yes" })]
    [InlineData("  redis-server   --save ''  --protected-mode no ", new[] { "redis-server", "--save", "", "--protected-mode", "no" })]
    [InlineData("redis-server --save \"\"", new[] { "redis-server", "--save", "" })]
    [InlineData("sh -c 'echo ready; exec sleep 1d'", new[] { "sh", "-c", "echo ready; exec sleep 1d" })]
    [InlineData("printf \"%s \\\"q\\\" \\\\\" a\\ b it'\"'s", new[] { "printf", "%s \"q\" \\", "a b", "it\"s" })]
    [InlineData("", new string[0])]
    public void A_Command_is_split_into_words_as_a_shell_and_compose_split_it(string command, string[] words)
    {
        var service = Assert.Single(Model(Redis() with { Command = command }).Services);
        Assert.Equal(words, service.Command);
    }

    [Theory]
    [InlineData("redis-server --save '")]
    [InlineData("sh -c \"echo")]
    [InlineData("trailing\\")]
    public void A_Command_with_a_quote_left_open_is_STACK1040_naming_it(string command)
    {
        var error = Assert.Single(StackModelBuilder.Build(Input(Redis() with { Command = command })).Diagnostics, d => d.Code == "STACK1040");
        Assert.Contains($"StackContainer 'cache' has Command=\"{command}\"", error.Format());
        Assert.Contains("close every quote", error.Format());
    }

    [Fact]
    public void A_port_a_HostPort_without_a_port_and_an_environment_without_values_are_refused()
    {
        Assert.Contains(StackModelBuilder.Build(Input(new ServiceInput("q") { Image = "memcached:1", HostPort = "11211" })).Diagnostics,
            d => d.Code == "STACK1040" && d.Format().Contains("HostPort=\"11211\""));
        Assert.Contains(StackModelBuilder.Build(Input(new ServiceInput("q") { Image = "memcached:1", ReadyWhen = "tcp" })).Diagnostics,
            d => d.Code == "STACK1040" && d.Format().Contains("also set Port"));
        Assert.Contains(StackModelBuilder.Build(Input(Redis() with { Port = "70000" })).Diagnostics, d => d.Code == "STACK1040" && d.Format().Contains("Port=\"70000\""));
        Assert.Contains(StackModelBuilder.Build(Input(Redis() with { Environment = "JUSTANAME" })).Diagnostics, d => d.Code == "STACK1040" && d.Format().Contains("Environment="));
    }

    [Fact]
    public void An_unknown_dependency_is_STACK1041_and_a_cycle_is_STACK1042_naming_it_before_anything_starts()
    {
        var unknown = StackModelBuilder.Build(Input(Redis(dependsOn: "db")));
        Assert.Null(unknown.Model);
        Assert.Contains(unknown.Diagnostics, d => d.Code == "STACK1041" && d.Format().Contains("'cache' depends on 'db'") && d.Format().Contains("names it can depend on: cache"));

        var app = StackModelBuilder.Build(Input(Redis()) with { DependsOn = "cahce" });
        Assert.Contains(app.Diagnostics, d => d.Code == "STACK1041" && d.Format().Contains("'HelloStack' depends on 'cahce'"));

        var cycle = StackModelBuilder.Build(Input(Redis("a", "b"), Redis("b", "c"), Redis("c", "a")));
        Assert.Null(cycle.Model);
        Assert.Contains(cycle.Diagnostics, d => d.Code == "STACK1042" && d.Format().Contains("a → b → c → a"));
    }

    [Fact]
    public void Backing_containers_need_the_stacks_own_network()
    {
        var (model, diagnostics) = StackModelBuilder.Build(Input(Redis()) with { NetworkMode = "host" });
        Assert.Null(model);
        Assert.Contains(diagnostics, d => d.Code == "STACK1043");
    }

    [Fact]
    public void Containers_start_after_what_they_depend_on_and_replicas_get_connection_strings_in_the_shapes_dotnet_reads()
    {
        var model = Model(Redis("cache", "db"), Postgres());
        Assert.Equal(["db", "cache"], model.Services.Select(s => s.Name));
        Assert.Equal(["cache", "db"], model.AppDependsOn.Order());
        var env = StackNetworking.AppEnvironment(model, 1);
        Assert.Contains(new KeyValuePair<string, string>("ConnectionStrings__cache", "cache:6379"), env);
        Assert.Contains(new KeyValuePair<string, string>("ConnectionStrings__db", "Host=db;Port=5432;Username=postgres;Password=secret;Database=shop"), env);

        // StackDependsOn narrows what the app waits for and is wired to; a ConnectionString template replaces the known shape.
        var narrowed = StackModelBuilder.Build(Input(Redis(), Postgres() with { ConnectionString = "postgres://{host}:{port}/shop" }) with { DependsOn = "db" }).Model!;
        var narrowedEnv = StackNetworking.AppEnvironment(narrowed, 1);
        Assert.DoesNotContain(narrowedEnv, e => e.Key == "ConnectionStrings__cache");
        Assert.Contains(new KeyValuePair<string, string>("ConnectionStrings__db", "postgres://db:5432/shop"), narrowedEnv);
    }

    [Theory]
    // MySQL: the user the image creates (MYSQL_USER with MYSQL_PASSWORD, granted MYSQL_DATABASE), else root.
    [InlineData("mysql:8.4", "MYSQL_ROOT_PASSWORD=r;MYSQL_DATABASE=shop", 3306, "Server=db;Port=3306;User ID=root;Password=r;Database=shop")]
    [InlineData("mysql:8.4", "MYSQL_ROOT_PASSWORD=r;MYSQL_DATABASE=shop;MYSQL_USER=app;MYSQL_PASSWORD=a", 3306, "Server=db;Port=3306;User ID=app;Password=a;Database=shop")]
    [InlineData("mysql:8.4", "MYSQL_ALLOW_EMPTY_PASSWORD=yes;MYSQL_USER=app", 3306, "Server=db;Port=3306;User ID=root")]
    // MariaDB reads its own names first, MySQL's as aliases; the mysql image knows only its own.
    [InlineData("mariadb:11", "MARIADB_ROOT_PASSWORD=r;MYSQL_DATABASE=shop", 3306, "Server=db;Port=3306;User ID=root;Password=r;Database=shop")]
    [InlineData("docker.io/library/mariadb:11", "MARIADB_USER=app;MARIADB_PASSWORD=a;MYSQL_USER=old;MYSQL_PASSWORD=o", 3306, "Server=db;Port=3306;User ID=app;Password=a")]
    [InlineData("mysql:8.4", "MARIADB_ROOT_PASSWORD=r", 3306, "Server=db;Port=3306;User ID=root")]
    // SQL Server: sa with MSSQL_SA_PASSWORD (or the older SA_PASSWORD); its certificate is self-signed.
    [InlineData("mcr.microsoft.com/mssql/server:2022-latest", "ACCEPT_EULA=Y;MSSQL_SA_PASSWORD=Str0ng!pw", 1433, "Server=db,1433;User ID=sa;Password=Str0ng!pw;TrustServerCertificate=true")]
    [InlineData("mcr.microsoft.com/mssql/server:2019-latest", "ACCEPT_EULA=Y;SA_PASSWORD=p", 1433, "Server=db,1433;User ID=sa;Password=p;TrustServerCertificate=true")]
    // MongoDB: the root user authenticates against admin; user, password and database are escaped inside the URL.
    [InlineData("mongo:8", "", 27017, "mongodb://db:27017/")]
    [InlineData("mongo:8", "MONGO_INITDB_ROOT_USERNAME=admin;MONGO_INITDB_ROOT_PASSWORD=p@ss:w/rd;MONGO_INITDB_DATABASE=shop", 27017, "mongodb://admin:p%40ss%3Aw%2Frd@db:27017/shop?authSource=admin")]
    [InlineData("mongo:8", "MONGO_INITDB_ROOT_USERNAME=admin", 27017, "mongodb://db:27017/")]
    // RabbitMQ: guest/guest unless the image is told otherwise (its image lets guest in from other containers).
    [InlineData("rabbitmq:4-management", "", 5672, "amqp://guest:guest@db:5672")]
    [InlineData("rabbitmq:4", "RABBITMQ_DEFAULT_USER=app;RABBITMQ_DEFAULT_PASS=a b;RABBITMQ_DEFAULT_VHOST=shop", 5672, "amqp://app:a%20b@db:5672/shop")]
    // Valkey is Redis's protocol; an image ProxyStack does not know gets no port and no connection string.
    [InlineData("valkey/valkey:8", "", 6379, "db:6379")]
    [InlineData("memcached:1", "", 0, "")]
    [InlineData("example.com/team/server:1", "", 0, "")]
    public void Known_images_serve_on_their_port_and_replicas_get_the_connection_string_their_dotnet_client_reads(string image, string environment, int port, string connection)
    {
        var db = Assert.Single(Model(new ServiceInput("db") { Image = image, Environment = environment }).Services);
        Assert.Equal(port, db.Port);
        Assert.Equal(port > 0 ? ReadyRule.Tcp : ReadyRule.Running, db.ReadyWhen.Kind);
        Assert.Equal(connection, db.ConnectionString);
    }

    [Fact]
    public void A_secret_inside_a_URL_connection_string_is_escaped_when_it_is_read_and_inserted_as_is_elsewhere()
    {
        var mongo = Assert.Single(Model(new ServiceInput("db")
        {
            Image = "mongo:8", Environment = "MONGO_INITDB_ROOT_USERNAME=admin",
            Secrets = [new SecretSource("MONGO_INITDB_ROOT_PASSWORD", "MONGO_PASSWORD", "")],
        }).Services);
        Assert.Equal($"mongodb://admin:{BackingService.SecretPlaceholder("MONGO_INITDB_ROOT_PASSWORD", inUri: true)}@db:27017/?authSource=admin", mongo.ConnectionString);
        Assert.Equal("mongodb://admin:a%2Fb%40c@db:27017/?authSource=admin",
            BackingService.FillSecrets(mongo.ConnectionString, [new("MONGO_INITDB_ROOT_PASSWORD", "a/b@c")]));

        var mysql = Assert.Single(Model(new ServiceInput("db") { Image = "mysql:8.4", Secrets = [new SecretSource("MYSQL_ROOT_PASSWORD", "PW", "")] }).Services);
        Assert.Equal("Server=db;Port=3306;User ID=root;Password=a/b@c", BackingService.FillSecrets(mysql.ConnectionString, [new("MYSQL_ROOT_PASSWORD", "a/b@c")]));
        // A ';' or a quote in a keyword connection string's value is quoted as DbConnectionStringBuilder (Npgsql, MySqlConnector,
        // SqlClient) reads it back, secret or not.
        var quoted = BackingService.FillSecrets(mysql.ConnectionString, [new("MYSQL_ROOT_PASSWORD", "s3cr;e\"t")]);
        Assert.Equal("s3cr;e\"t", new System.Data.Common.DbConnectionStringBuilder { ConnectionString = quoted }["Password"]);
        var plain = Assert.Single(Model(new ServiceInput("db") { Image = "postgres:15", ItemEnvironment = [new("POSTGRES_PASSWORD", " a;b='c' ")] }).Services);
        Assert.Equal(" a;b='c' ", new System.Data.Common.DbConnectionStringBuilder { ConnectionString = plain.ConnectionString }["Password"]);
    }

    [Fact]
    public void A_backing_container_joins_the_stack_network_by_its_name_and_is_published_only_on_the_stack_address_when_asked()
    {
        var model = Model(Redis() with { HostPort = "16379" }, Postgres());
        var cache = ContainerSpecs.Service(model, model.Services.Single(s => s.Name == "cache"), "sha256:redis1", "h");
        Assert.Equal("hello-cache", cache.Name);
        Assert.Equal(["cache"], cache.Aliases);
        Assert.Equal("hello-net", cache.Network);
        Assert.Equal([new PortBinding("127.0.0.1", 16379, 6379)], cache.Publish);
        Assert.Equal(StackLabels.RoleService, cache.Labels[StackLabels.Role]);
        Assert.Equal("cache", cache.Labels[StackLabels.Service]);
        var db = ContainerSpecs.Service(model, model.Services.Single(s => s.Name == "db"), "sha256:pg1", "h");
        Assert.Empty(db.Publish);
        Assert.Equal([new VolumeMount("hello-db-data", "/var/lib/postgresql/data", OwnedByContainerUser: false)], db.Mounts);
    }

    [Fact]
    public void A_fresh_stack_starts_each_container_after_its_dependencies_are_ready_and_the_replicas_after_all_of_them()
    {
        var model = Model(Redis("cache", "db"), Postgres()) with { Replicas = 1 };
        Builders.AssertPlan("""
             1. create network hello-net: missing
             2. create volume hello-db-data: missing
             3. create hello-db: missing (after 1,2)
             4. start hello-db: missing (after 3)
             5. wait ready hello-db: missing (after 4)
             6. create hello-cache: missing (after 1,5)
             7. start hello-cache: missing (after 6)
             8. wait ready hello-cache: missing (after 7)
             9. create hello-app-1: missing (after 1,5,8)
            10. start hello-app-1: missing (after 9)
            11. wait ready hello-app-1: missing (after 10)
            12. create hello-proxy: missing (after 1,11)
            13. start hello-proxy: missing (after 12)
            14. wait proxy hello-proxy: missing (after 13)
            """, Builders.Reconcile(model, Fresh(model)));
        Assert.Equal(["tcp", "tcp"], Builders.Reconcile(model, Fresh(model)).Plan.Steps.Where(s => s.Kind == StepKind.WaitService).Select(s => s.Service!.Rule.ToString()));
    }

    [Fact]
    public void An_unchanged_running_container_is_kept_a_changed_one_is_recreated_and_one_no_longer_declared_is_removed()
    {
        var model = Model(Redis(), Postgres());
        var running = Running(model);
        var again = Builders.Reconcile(model, running);
        Assert.True(again.Plan.IsEmpty, again.Plan.ToString());
        Assert.Contains("hello-cache", again.Kept);

        // A changed command: stepped aside and stopped (one database on one volume), created again, and the old one removed once
        // the new one is ready — a failure before that starts the old one again; the replicas, wired to nothing new, stay.
        var changed = Model(Redis() with { Command = "redis-server --appendonly yes" }, Postgres());
        Builders.AssertPlan("""
             1. retire hello-cache as hello-cache-retiring-cccccccccccc: configuration changed
             2. stop hello-cache-retiring-cccccccccccc: configuration changed (after 1)
             3. create hello-cache: configuration changed (after 2)
             4. start hello-cache: configuration changed (after 3)
             5. wait ready hello-cache: configuration changed (after 4)
             6. remove hello-cache-retiring-cccccccccccc: configuration changed (after 5)
            """, Builders.Reconcile(changed, running with { ImageIds = Fresh(changed).ImageIds }));

        // Unchanged and running but failing its rule now (still initializing after an interrupted run): waited for again,
        // not taken as ready, not recreated.
        var unready = Builders.Reconcile(model, running with { UnreadyServices = new Dictionary<string, string> { ["hello-db"] = "nothing listens on port 5432 yet" } });
        Builders.AssertPlan("""
             1. wait ready hello-db: not ready (nothing listens on port 5432 yet)
            """, unready);
        Assert.Contains("hello-cache", unready.Kept);
        Assert.DoesNotContain("hello-db", unready.Kept);

        var without = Model(Postgres());
        var removal = Builders.Reconcile(without, running).Plan.ToString();
        Assert.Contains("stop hello-cache: no longer a StackContainer", removal);
        Assert.Contains("remove hello-cache: no longer a StackContainer", removal);
    }

    [Fact]
    public void StackDown_stops_backing_containers_last_and_keeps_their_volumes_unless_asked()
    {
        var model = Model(Postgres()) with { Replicas = 1 };
        var running = Running(model);
        var plan = Reconciler.PlanTeardown(model.Name, running);
        var stopDb = plan.Steps.Single(s => s.Kind == StepKind.StopContainer && s.Resource == "hello-db");
        var removeApp = plan.Steps.Single(s => s.Kind == StepKind.RemoveContainer && s.Resource == "hello-app-1");
        Assert.Contains(removeApp.Id, stopDb.DependsOn);
        Assert.DoesNotContain(plan.Steps, s => s.Kind == StepKind.RemoveVolume);
        Assert.Contains(Reconciler.PlanTeardown(model.Name, running, removeVolumes: true).Steps, s => s.Kind == StepKind.RemoveVolume && s.Resource == "hello-db-data");
    }

    [Fact]
    public void A_volume_of_that_name_that_ProxyStack_did_not_create_stops_the_plan()
    {
        var model = Model(Postgres());
        var observed = Fresh(model) with { Volumes = [new ObservedVolume("hello-db-data", new Dictionary<string, string>())] };
        Assert.Contains(Builders.Reconcile(model, observed).Diagnostics, d => d.Code == "STACK4016");
    }
    [Fact]
    public void StackEnvironment_items_with_Container_go_to_that_container_a_secret_stays_a_placeholder_until_applied()
    {
        var input = Input(new ServiceInput("db")
        {
            Image = "postgres:15", Environment = "POSTGRES_DB=shop;POSTGRES_USER=meta",
            ItemEnvironment = [new("POSTGRES_USER", "shop")],
            Secrets = [new SecretSource("POSTGRES_PASSWORD", "DB_PASSWORD", "")],
        });
        var model = StackModelBuilder.Build(input).Model!;
        var db = Assert.Single(model.Services);
        Assert.Equal([new("POSTGRES_DB", "shop"), new KeyValuePair<string, string>("POSTGRES_USER", "shop")], db.Environment);
        Assert.Equal([new SecretSource("POSTGRES_PASSWORD", "DB_PASSWORD", "")], db.Secrets);
        Assert.Equal($"Host=db;Port=5432;Username=shop;Password={BackingService.SecretPlaceholder("POSTGRES_PASSWORD")};Database=shop", db.ConnectionString);
        // The model file holds the source, never a value.
        Assert.DoesNotContain("POSTGRES_PASSWORD\":\"", StackModelFile.Serialize(model));

        var unknown = StackModelBuilder.Build(Input(Redis()) with { UnknownContainerEnvironment = [("POSTGRES_PASSWORD", "dbb")] });
        Assert.Null(unknown.Model);
        Assert.Contains(unknown.Diagnostics, d => d.Code == "STACK1044" && d.Format().Contains("Container=\"dbb\"") && d.Format().Contains("StackContainer items: cache"));
        var conflict = StackModelBuilder.Build(Input(Redis() with { ItemEnvironment = [new("A", "1")], Secrets = [new SecretSource("A", "X", "")] }));
        Assert.Contains(conflict.Diagnostics, d => d.Code == "STACK1016");
    }

    [Fact]
    public void A_secret_of_a_backing_container_is_keyed_into_its_hash_never_hashed_in_the_clear()
    {
        var model = Model(Postgres());
        var db = model.Services.Single();
        var withSecret = db with
        {
            Environment = [.. db.Environment, new("TOKEN", "guessable")],
            SecretNames = new HashSet<string> { "TOKEN" },
            SecretDigest = "digest-1",
        };
        var guessed = withSecret with { Environment = [.. db.Environment, new("TOKEN", "other")] };
        Assert.Equal(Reconciler.ServiceHash(model, withSecret, "sha256:pg1"), Reconciler.ServiceHash(model, guessed, "sha256:pg1"));
        Assert.NotEqual(Reconciler.ServiceHash(model, withSecret, "sha256:pg1"), Reconciler.ServiceHash(model, withSecret with { SecretDigest = "digest-2" }, "sha256:pg1"));
    }
    private static (FakeEngine Engine, ProxyStack.Execution.ReadinessWaiter Waiter) RunningEngine(bool running = true)
    {
        var engine = new FakeEngine();
        engine.Containers["hello-db"] = ("d1", new Dictionary<string, string>(), running);
        return (engine, new ProxyStack.Execution.ReadinessWaiter(engine, new CapturingStackLog()));
    }

    [Fact]
    public async Task A_readiness_command_that_never_returns_is_cut_at_the_deadline_and_is_STACK4019_not_a_hang()
    {
        var (engine, waiter) = RunningEngine();
        engine.ExecHangs = true;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ProxyStack.Execution.ReadinessTimeoutException>(() => ProxyStack.Execution.ServiceReadiness.WaitAsync(
            engine, waiter, "hello-db", "hello-net", ReadyRule.Parse("command:sleep 1000")!, 5432, TimeSpan.FromSeconds(2), CancellationToken.None));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), clock.Elapsed.ToString());
        Assert.Equal("the check did not finish before the deadline", e.LastResult);
        Assert.Equal("command:sleep 1000", e.Target);

        // An image without a shell cannot run the check at all: said at once, with what to use instead, not waited on.
        engine.ExecHangs = false;
        engine.ExecFailure = new EngineRequestException("exec hello-db", "exec: \"sh\": executable file not found in $PATH", conflict: false);
        clock.Restart();
        var noShell = await Assert.ThrowsAsync<ProxyStack.Execution.ReadinessTimeoutException>(() => ProxyStack.Execution.ServiceReadiness.WaitAsync(
            engine, waiter, "hello-db", "hello-net", ReadyRule.Parse("tcp")!, 5432, TimeSpan.FromSeconds(60), CancellationToken.None));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), clock.Elapsed.ToString());
        Assert.Contains("use ReadyWhen=log:<pattern> or http:<path>", noShell.LastResult);
    }

    [Fact]
    public async Task Tcp_readiness_reads_the_containers_own_socket_table_and_an_exited_container_fails_at_once()
    {
        var (engine, waiter) = RunningEngine();
        await ProxyStack.Execution.ServiceReadiness.WaitAsync(engine, waiter, "hello-db", "hello-net", ReadyRule.Parse("tcp")!, 5432, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Contains(engine.Execs, x => x.StartsWith("hello-db: sh -c", StringComparison.Ordinal) && x.Contains(":1538 [0-9A-F]+:0000 0A", StringComparison.Ordinal));

        engine.ExecResult = (1, "");
        var e = await Assert.ThrowsAsync<ProxyStack.Execution.ReadinessTimeoutException>(() => ProxyStack.Execution.ServiceReadiness.WaitAsync(
            engine, waiter, "hello-db", "hello-net", ReadyRule.Parse("tcp")!, 5432, TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.StartsWith("nothing listens on port 5432 yet", e.LastResult);

        var (stopped, stoppedWaiter) = RunningEngine(running: false);
        await Assert.ThrowsAsync<ContainerExitedException>(() => ProxyStack.Execution.ServiceReadiness.WaitAsync(
            stopped, stoppedWaiter, "hello-db", "hello-net", ReadyRule.Parse("tcp")!, 5432, TimeSpan.FromSeconds(30), CancellationToken.None));
    }
}
