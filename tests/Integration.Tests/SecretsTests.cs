using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>User secrets reach the replicas as environment at run time, and nowhere else: not an image, not the build log.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class SecretsTests : StackTest
{
    private readonly string _secretsId = "proxystack-test-" + Guid.NewGuid().ToString("N");
    private readonly string _secretsDir;

    public SecretsTests() =>
        _secretsDir = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".microsoft", "usersecrets", _secretsId);

    protected override void DisposeMore()
    {
        if (Directory.Exists(_secretsDir)) Directory.Delete(_secretsDir, recursive: true);
    }

    [DockerFact]
    public async Task User_secrets_reach_the_replicas_but_no_image_and_no_build_log()
    {
        const string secret = "s3cr3t-value-never-logged";
        Directory.CreateDirectory(_secretsDir);
        await File.WriteAllTextAsync(Path.Combine(_secretsDir, "secrets.json"), $$"""{ "Demo": { "Password": "{{secret}}" } }""");
        using var sample = new SampleCopy();
        var csproj = await File.ReadAllTextAsync(sample.ProjectFile);
        await File.WriteAllTextAsync(sample.ProjectFile, csproj.Replace("<StackReplicas>3</StackReplicas>", $"<StackReplicas>1</StackReplicas>\n    <UserSecretsId>{_secretsId}</UserSecretsId>"));

        var up = await sample.BuildAsync("StackUp", new Dictionary<string, string> { ["StackName"] = Stack, ["StackHostPort"] = Ports.Free().ToString() }, timeout: null);
        Assert.True(up.ExitCode == 0, up.ToString());
        var diag = await Cli.RunAsync(Cli.Dotnet(sample.Directory, ["build", sample.ProjectFile, "-t:StackUp", "-nologo", "-v:diag", "-tl:off", "-nr:false",
            $"-p:StackRegistryMirror={Repository.Mirror}", $"-p:StackName={Stack}", $"-p:StackHostPort={Ports.Free()}"]));
        Assert.True(diag.ExitCode == 0, diag.ToString()[..Math.Min(4000, diag.Output.Length)]);
        Assert.DoesNotContain(secret, up.Output);
        Assert.DoesNotContain(secret, diag.Output);

        var app = await Probe.InspectAsync($"{Stack}-app-1");
        Assert.Contains($"Demo__Password={secret}", app.Config.Env);
        var image = await Probe.Client.Images.InspectImageAsync(app.Image);
        Assert.DoesNotContain(image.Config.Env ?? [], e => e.Contains(secret));
        var history = await Probe.Client.Images.GetImageHistoryAsync(app.Image);
        Assert.DoesNotContain(history, h => (h.CreatedBy ?? "").Contains(secret));
        Assert.DoesNotContain(secret, await File.ReadAllTextAsync(Path.Combine(sample.Directory, "obj", "Debug", "net10.0", "stack", "model.json")));
    }
}
