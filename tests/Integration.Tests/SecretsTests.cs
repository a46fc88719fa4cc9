using System.IO.Compression;
using System.Text;
using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// Secrets — user-secrets, and StackEnvironment items with FromEnvironment or FromFile — reach the replicas as environment
/// at run time, and nowhere else: not an image, not the model file, not the build log, not a binlog, even at -v:diag.
/// </summary>
[Collection(StacksCollection.Name)]
public sealed class SecretsTests : StackTest
{
    private readonly string _secretsId = "proxystack-test-" + Guid.NewGuid().ToString("N");
    private readonly string _apiSecretsId = "proxystack-test-" + Guid.NewGuid().ToString("N");

    private static string SecretsDir(string id) =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".microsoft", "usersecrets", id);

    protected override void DisposeMore()
    {
        foreach (var dir in new[] { SecretsDir(_secretsId), SecretsDir(_apiSecretsId) })
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    [DockerFact]
    public async Task Secrets_reach_the_replicas_but_no_image_no_model_no_build_log_and_no_binlog()
    {
        const string userSecret = "s3cr3t-user-secret-never-logged";
        const string envSecret = "s3cr3t-from-environment-never-logged";
        const string fileSecret = "s3cr3t-from-file-never-logged";
        const string apiUserSecret = "s3cr3t-api-user-secret-never-logged";
        string[] secrets = [userSecret, envSecret, fileSecret, apiUserSecret];
        Directory.CreateDirectory(SecretsDir(_secretsId));
        await File.WriteAllTextAsync(Path.Combine(SecretsDir(_secretsId), "secrets.json"), $$"""{ "Demo": { "Password": "{{userSecret}}" } }""");
        // The StackProject's own user secrets reach its replicas, as when it runs alone in Development.
        Directory.CreateDirectory(SecretsDir(_apiSecretsId));
        await File.WriteAllTextAsync(Path.Combine(SecretsDir(_apiSecretsId), "secrets.json"), $$"""{ "Partner": { "Token": "{{apiUserSecret}}" } }""");
        using var sample = new SampleCopy();
        var apiProject = Path.Combine(sample.Directory, "Api", "HelloStack.Api.csproj");
        await File.WriteAllTextAsync(apiProject, (await File.ReadAllTextAsync(apiProject))
            .Replace("<Nullable>enable</Nullable>", $"<Nullable>enable</Nullable>\n    <UserSecretsId>{_apiSecretsId}</UserSecretsId>"));
        await File.WriteAllTextAsync(Path.Combine(sample.Directory, "api-key.txt"), fileSecret + "\n");
        var csproj = await File.ReadAllTextAsync(sample.ProjectFile);
        await File.WriteAllTextAsync(sample.ProjectFile, csproj
            .Replace("<StackReplicas>3</StackReplicas>", $"<StackReplicas>1</StackReplicas>\n    <UserSecretsId>{_secretsId}</UserSecretsId>")
            .Replace("</Project>", """
              <ItemGroup>
                <StackEnvironment Include="ConnectionStrings__Db" FromEnvironment="PROXYSTACK_TEST_DB" />
                <StackEnvironment Include="Api__Key" FromFile="api-key.txt" />
                <StackEnvironment Include="Plain__Setting" Value="plain-value-only-at-detailed-verbosity" />
              </ItemGroup>
            </Project>
            """));
        var env = new Dictionary<string, string> { ["PROXYSTACK_TEST_DB"] = envSecret };

        var up = await sample.BuildAsync("StackUp", new Dictionary<string, string> { ["StackName"] = Stack, ["StackHostPort"] = Ports.Free().ToString(), ["HelloStackApi"] = "true" }, env, timeout: null);
        Assert.True(up.ExitCode == 0, up.ToString());
        var binlog = Path.Combine(sample.Directory, "diag.binlog");
        var diag = await Cli.RunAsync(Cli.Dotnet(sample.Directory, ["build", sample.ProjectFile, "-t:StackUp", "-nologo", "-v:diag", "-tl:off", "-nr:false",
            $"-bl:{binlog}", $"-p:StackRegistryMirror={Repository.Mirror}", $"-p:StackName={Stack}", $"-p:StackHostPort={Ports.Free()}", "-p:HelloStackApi=true"], env));
        Assert.True(diag.ExitCode == 0, diag.ToString()[..Math.Min(4000, diag.Output.Length)]);
        // A plain Value is configuration: absent from the normal log, shown (like every MSBuild item) at -v:diag.
        Assert.DoesNotContain("plain-value-only-at-detailed-verbosity", up.Output);
        Assert.Contains("plain-value-only-at-detailed-verbosity", diag.Output);
        // The checks below can fail: the diag log does show the sources, and the replicas do get the values.
        Assert.Contains("PROXYSTACK_TEST_DB", diag.Output);
        Assert.Contains("api-key.txt", diag.Output);
        var replay = await Cli.RunAsync(Cli.Dotnet(sample.Directory, ["msbuild", binlog, "-nologo", "-noconlog", "-flp:v=diag;logfile=replay.log"]));
        Assert.True(replay.ExitCode == 0, replay.ToString());
        var replayed = await File.ReadAllTextAsync(Path.Combine(sample.Directory, "replay.log"));
        Assert.Contains("PROXYSTACK_TEST_DB", replayed);
        var binlogBytes = Decompress(await File.ReadAllBytesAsync(binlog));
        var model = await File.ReadAllTextAsync(Path.Combine(sample.Directory, "obj", "Debug", "net10.0", "stack", "model.json"));
        Assert.Contains("PROXYSTACK_TEST_DB", model);

        var app = await Probe.InspectAsync($"{Stack}-app-1");
        Assert.Contains($"Demo__Password={userSecret}", app.Config.Env);
        Assert.Contains($"ConnectionStrings__Db={envSecret}", app.Config.Env);
        Assert.Contains($"Api__Key={fileSecret}", app.Config.Env);
        var api = await Probe.InspectAsync($"{Stack}-api-1");
        Assert.Contains($"Partner__Token={apiUserSecret}", api.Config.Env);
        Assert.DoesNotContain(api.Config.Env, e => e.Contains(userSecret));
        Assert.DoesNotContain(app.Config.Env, e => e.Contains(apiUserSecret));
        Assert.DoesNotContain((await Probe.Client.Images.InspectImageAsync(api.Image)).Config.Env ?? [], e => e.Contains(apiUserSecret));
        Assert.DoesNotContain(api.Config.Labels, l => l.Value.Contains(apiUserSecret));
        var image = await Probe.Client.Images.InspectImageAsync(app.Image);
        var history = await Probe.Client.Images.GetImageHistoryAsync(app.Image);
        // The image's files too: the whole saved image (every layer's tar) as bytes.
        byte[] saved;
        await using (var export = await Probe.Client.Images.SaveImageAsync(app.Image, CancellationToken.None))
        using (var buffer = new MemoryStream())
        {
            await export.CopyToAsync(buffer);
            saved = buffer.ToArray();
        }
        Assert.True(saved.Length > 1_000_000, $"the saved image has only {saved.Length} bytes");
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, up.Output);
            Assert.DoesNotContain(secret, diag.Output);
            Assert.DoesNotContain(secret, replayed);
            Assert.Equal(-1, binlogBytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)));
            Assert.DoesNotContain(secret, model);
            Assert.DoesNotContain(image.Config.Env ?? [], e => e.Contains(secret));
            Assert.DoesNotContain(history, h => (h.CreatedBy ?? "").Contains(secret));
            Assert.Equal(-1, saved.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)));
        }
    }

    [DockerFact]
    public async Task A_secret_whose_variable_is_unset_fails_with_STACK1018_and_starts_nothing()
    {
        using var sample = new SampleCopy();
        var csproj = await File.ReadAllTextAsync(sample.ProjectFile);
        await File.WriteAllTextAsync(sample.ProjectFile, csproj.Replace("</Project>", """
              <ItemGroup><StackEnvironment Include="ConnectionStrings__Db" FromEnvironment="PROXYSTACK_TEST_UNSET_VARIABLE" /></ItemGroup>
            </Project>
            """));
        var up = await sample.BuildAsync("StackUp", new Dictionary<string, string> { ["StackName"] = Stack, ["StackHostPort"] = Ports.Free().ToString() }, timeout: null);
        Assert.NotEqual(0, up.ExitCode);
        Assert.Contains("error STACK1018: StackEnvironment item 'ConnectionStrings__Db' takes its value from environment variable 'PROXYSTACK_TEST_UNSET_VARIABLE'", up.Output);
        Assert.DoesNotContain("   at ", up.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }

    /// <summary>A binlog is a gzip stream of records; strings in it are plain UTF-8.</summary>
    private static byte[] Decompress(byte[] binlog)
    {
        using var gz = new GZipStream(new MemoryStream(binlog), CompressionMode.Decompress);
        using var all = new MemoryStream();
        gz.CopyTo(all);
        return all.ToArray();
    }
}
