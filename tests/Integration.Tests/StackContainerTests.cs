using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// Backing containers (StackContainer) that fail to get ready, and PostgreSQL. The sample's Redis — started first, shared by every
/// replica, its data kept across StackDown — is tested with the whole application (WholeApplicationTests).
/// </summary>
[Collection(StacksCollection.Name)]
public sealed class StackContainerTests(SharedSample shared) : StackTest
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private Dictionary<string, string> Props(params (string Key, string Value)[] more)
    {
        var props = new Dictionary<string, string>
        {
            ["StackName"] = Stack, ["StackHostPort"] = Port.ToString(), ["StackReplicas"] = "3", ["HelloStackCache"] = "true",
        };
        foreach (var (k, v) in more) props[k] = v;
        return props;
    }

    [DockerFact]
    public async Task A_backing_container_that_never_gets_ready_is_STACK4019_with_its_logs_and_nothing_is_left()
    {
        shared.Sample.AddToProject("""  <ItemGroup Condition="'$(NeverReady)' == 'true'"><StackContainer Include="slow" Image="redis:7" ReadyWhen="log:this line is never printed" /></ItemGroup>""");
        var up = await shared.Sample.BuildAsync("StackUp", Props(("NeverReady", "true"), ("StackReadyTimeout", "5")));
        Assert.NotEqual(0, up.ExitCode);
        Assert.Contains($"STACK4019: Backing container '{Stack}-slow' was not ready by ReadyWhen=log:this line is never printed within 5 s", up.Output);
        // Its own output is in the message, and the bring-up was undone: no container, network or volume is left.
        Assert.Contains("Ready to accept connections", up.Output);
        Assert.DoesNotContain("MSB4018", up.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
        Assert.Empty(await Probe.VolumesAsync(Stack));
    }
    [DockerFact]
    public async Task A_backing_container_listening_only_on_its_loopback_address_is_not_ready_and_STACK4019_says_why()
    {
        // Reachable from inside itself only: what mongo's first start does while it creates its root user, and what a server
        // bound to localhost does for good. Its dependants could not connect, so it is not ready.
        shared.Sample.AddToProject("""  <ItemGroup Condition="'$(LoopbackOnly)' == 'true'"><StackContainer Include="local" Image="redis:7" Command="redis-server --bind 127.0.0.1 --protected-mode no" /></ItemGroup>""");
        var up = await shared.Sample.BuildAsync("StackUp", Props(("LoopbackOnly", "true"), ("StackReadyTimeout", "5")));
        Assert.NotEqual(0, up.ExitCode);
        Assert.Contains($"STACK4019: Backing container '{Stack}-local' was not ready by ReadyWhen=tcp within 5 s (last result: it listens on port 6379 only on its loopback address", up.Output);
        Assert.Contains("Ready to accept connections", up.Output); // its own log, in the message
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    [DockerFact]
    public async Task A_Command_is_split_as_a_shell_splits_it_so_an_empty_quoted_word_reaches_the_image()
    {
        // Redis without snapshots, as compose files write it: --save with an empty value. Split at spaces alone, the image got
        // the two quote characters as the value, refused them and exited.
        shared.Sample.AddToProject("""  <ItemGroup Condition="'$(NoSnapshots)' == 'true'"><StackContainer Include="volatile" Image="redis:7" Command="redis-server --save '' --protected-mode no" /></ItemGroup>""");
        var up = await shared.Sample.BuildAsync("StackUp", Props(("NoSnapshots", "true"), ("StackReplicas", "1"), ("StackReadyTimeout", "20")));
        Assert.True(up.ExitCode == 0, up.ToString());
        var container = await Probe.InspectAsync($"{Stack}-volatile");
        Assert.Equal(["redis-server", "--save", "", "--protected-mode", "no"], container.Config.Cmd);
        using var engine = new ProxyStack.Engine.DockerEngine();
        var (code, output) = await engine.ExecAsync($"{Stack}-volatile", ["redis-cli", "config", "get", "save"], CancellationToken.None);
        // Snapshots off: the value is empty (redis's default would be "3600 1 300 100 60 10000").
        Assert.True(code == 0 && output.Trim() == "save", $"redis-cli exited {code}: [{output}]");
    }

    [DockerFact]
    public async Task Postgres_is_initialized_from_its_settings_the_replicas_connection_string_opens_it_and_a_password_changed_later_is_STACK1062()
    {
        var dbPort = Ports.Free();
        // The password is a secret: named by its source (a variable of the build's environment), read only when the container
        // is created.
        shared.Sample.AddToProject("""
              <ItemGroup Condition="'$(WithDb)' == 'true'">
                <StackContainer Include="db" Image="postgres:15" Environment="POSTGRES_DB=shop" Volume="db-data:/var/lib/postgresql/data" HostPort="$(DbHostPort)" />
                <StackEnvironment Include="POSTGRES_PASSWORD" Container="db" FromEnvironment="TEST_DB_PASSWORD" />
              </ItemGroup>
            """);
        var password = "pw-" + Guid.NewGuid().ToString("N");
        var up = await shared.Sample.BuildAsync("StackUp", Props(("WithDb", "true"), ("DbHostPort", dbPort.ToString()), ("StackReplicas", "1")),
            new Dictionary<string, string> { ["TEST_DB_PASSWORD"] = password }, verbosity: "d");
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.DoesNotContain(password, up.Output);
        Assert.DoesNotContain(password, File.ReadAllText(Directory.GetFiles(shared.Sample.Directory, "model.json", SearchOption.AllDirectories).Single()));
        Assert.Equal("1\n", await Http.GetStringAsync($"http://127.0.0.1:{Port}/count"));

        // The replica got the connection string in Npgsql's keywords, from the container's own settings...
        var replica = await Probe.InspectAsync($"{Stack}-app-1");
        var connection = Assert.Single(replica.Config.Env, e => e.StartsWith("ConnectionStrings__db=", StringComparison.Ordinal))["ConnectionStrings__db=".Length..];
        Assert.Equal($"Host=db;Port=5432;Username=postgres;Password={password};Database=shop", connection);
        // No label of either container can confirm the password: the config hashes key it with a salt kept out of the engine.
        var db = await Probe.InspectAsync($"{Stack}-db");
        Assert.DoesNotContain(replica.Config.Labels.Values.Concat(db.Config.Labels.Values), v => v.Contains(password, StringComparison.Ordinal));
        Assert.Contains(replica.Config.Env, e => e == "ConnectionStrings__cache=cache:6379");

        // ...and it opens the database by its name over the stack's network (psql, in the database's own container, asked to
        // connect the way the app would), while the host reaches it only on loopback at HostPort.
        var keywords = connection.Replace("Host=", "host=").Replace(";Port=", " port=").Replace(";Username=", " user=")
            .Replace(";Password=", " password=").Replace(";Database=", " dbname=");
        using (var engine = new ProxyStack.Engine.DockerEngine())
        {
            var (code, output) = await engine.ExecAsync($"{Stack}-db", ["psql", keywords, "-tAc", "select current_database()"], CancellationToken.None);
            Assert.True(code == 0 && output.Trim() == "shop", $"psql exited {code}: {output}");
        }
        var binding = Assert.Single(db.HostConfig.PortBindings["5432/tcp"]);
        Assert.Equal(("127.0.0.1", dbPort.ToString()), (binding.HostIP, binding.HostPort));
        using (var tcp = new System.Net.Sockets.TcpClient()) await tcp.ConnectAsync("127.0.0.1", dbPort);
        Assert.DoesNotContain("STACK1062", up.Output);

        // The password changed while the volume is kept: the image reads it only when it initializes an empty volume, so the
        // server keeps the old one while the replica gets the new one. Said (STACK1062, naming the setting and the volume), once.
        var changed = "pw-" + Guid.NewGuid().ToString("N");
        Task<ProcessResult> UpWith(string secret) => shared.Sample.BuildAsync("StackUp", Props(("WithDb", "true"), ("DbHostPort", dbPort.ToString()), ("StackReplicas", "1")),
            new Dictionary<string, string> { ["TEST_DB_PASSWORD"] = secret });
        var again = await UpWith(changed);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains($"warning STACK1062: StackContainer 'db': POSTGRES_PASSWORD changed since the last StackUp, but its volume {Stack}-db-data already holds its data", again.Output);
        Assert.DoesNotContain(changed, again.Output);
        using (var engine = new ProxyStack.Engine.DockerEngine())
        {
            var (code, output) = await engine.ExecAsync($"{Stack}-db", ["psql", keywords.Replace(password, changed), "-tAc", "select 1"], CancellationToken.None);
            Assert.True(code != 0 && output.Contains("password authentication failed", StringComparison.Ordinal), $"psql exited {code}: {output}");
            (code, output) = await engine.ExecAsync($"{Stack}-db", ["psql", keywords, "-tAc", "select 1"], CancellationToken.None);
            Assert.True(code == 0, $"psql with the first password exited {code}: {output}");
        }
        var third = await UpWith(changed);
        Assert.True(third.ExitCode == 0, third.ToString());
        Assert.DoesNotContain("STACK1062", third.Output);
    }
}
