using System.Net;
using System.Text.RegularExpressions;
using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;

namespace ProxyStack.IntegrationTests;

/// <summary>A copy of tests/Apps/FormsApp (Razor Pages with antiforgery, Data Protection endpoints) shared by the class.</summary>
public sealed class FormsApp : IDisposable
{
    public SampleCopy Sample { get; } = new("tests", "Apps", "FormsApp");
    public void Dispose() => Sample.Dispose();
}

/// <summary>
/// Replicas behave as one application: one Data Protection key ring per project (StackSharedKeys), so what one replica
/// protected every replica accepts, through redeploys and StackDown. Requests go through nginx with no affinity.
/// </summary>
[Collection(BuildsCollection.Name)]
public sealed partial class SharedKeysTests(FormsApp app) : StackTest, IClassFixture<FormsApp>
{
    private string Url => $"http://127.0.0.1:{Port}";

    private async Task<ProcessResult> BuildAsync(string target, params (string Key, string Value)[] extra)
    {
        var props = StackProps(3);
        foreach (var (k, v) in extra) props[k] = v;
        return await app.Sample.BuildAsync(target, props);
    }

    /// <summary>
    /// Unprotects <paramref name="payload"/> <paramref name="times"/> times through nginx (round robin over the replicas), at
    /// <paramref name="prefix"/> (a StackProject's route).
    /// </summary>
    private async Task<List<HttpStatusCode>> UnprotectAsync(HttpClient http, string payload, int times = 12, string prefix = "")
    {
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < times; i++)
            codes.Add((await http.GetAsync($"{Url}{prefix}/unprotect?v={Uri.EscapeDataString(payload)}")).StatusCode);
        return codes;
    }

    private async Task<int> ReplicasAnsweringAsync(HttpClient http)
    {
        var hosts = new HashSet<string>();
        for (var i = 0; i < 12; i++) hosts.Add(await http.GetStringAsync($"{Url}/whoami"));
        return hosts.Count;
    }

    [DockerFact]
    public async Task Every_replica_accepts_what_any_replica_protected_across_redeploys_and_StackDown()
    {
        var up = await BuildAsync("StackUp");
        Assert.True(up.ExitCode == 0, up.ToString());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(3, await ReplicasAnsweringAsync(http));

        // One ring, with one key: the first replica wrote it before the others started, so none made a key of its own.
        async Task OneKeyForAll() { for (var i = 0; i < 3; i++) Assert.Equal("1", await http.GetStringAsync($"{Url}/keys")); }
        await OneKeyForAll();
        // ASP.NET Core warns when its key directory is not a mount ("may not be persisted outside of the container").
        Assert.DoesNotContain("may not be persisted", await Probe.LogsAsync($"{Stack}-app-1"));
        var volume = Assert.Single(await Probe.VolumesAsync(Stack));
        Assert.Equal($"{Stack}-keys", volume.Name);

        // Payloads issued by (probably) different replicas; every replica reads every one.
        var payloads = new List<string>();
        for (var i = 0; i < 3; i++) payloads.Add(await http.GetStringAsync($"{Url}/protect"));
        foreach (var p in payloads) Assert.All(await UnprotectAsync(http, p), c => Assert.Equal(HttpStatusCode.OK, c));

        // A code change: every replica is replaced; payloads issued before are still read by all the new ones.
        app.Sample.EditProgram("forms v1", "forms v2");
        var redeploy = await BuildAsync("StackUp");
        Assert.True(redeploy.ExitCode == 0, redeploy.ToString());
        Assert.Equal("forms v2", await http.GetStringAsync($"{Url}/"));
        foreach (var p in payloads) Assert.All(await UnprotectAsync(http, p), c => Assert.Equal(HttpStatusCode.OK, c));
        await OneKeyForAll();

        // StackDown keeps the ring (and says so); the next StackUp still reads what was issued before.
        var down = await BuildAsync("StackDown");
        Assert.True(down.ExitCode == 0, down.ToString());
        // In the project's folder, with no other project there: the bare command, through the MSBuild server that ran the build.
        Assert.Contains(string.Format(ProxyStack.Resources.Strings.StackVolumesKept, Stack, $"{Stack}-keys",
            "the Data Protection key rings, so sign-ins and forms survive the next StackUp", "dotnet build -t:StackDown -p:StackRemoveVolumes=true"), down.Output);
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Equal(volume.Name, Assert.Single(await Probe.VolumesAsync(Stack)).Name);
        // The ring's owner is checked, not assumed from the last bring-up: taken back by root here, it is given to the app's
        // user again (left as it was, the replicas could read no key and would refuse every payload).
        await TakeTheRingAsRootAsync();
        var again = await BuildAsync("StackUp");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.All(await UnprotectAsync(http, payloads[0]), c => Assert.Equal(HttpStatusCode.OK, c));
        await OneKeyForAll();
        using (var engine = new ProxyStack.Engine.DockerEngine())
        {
            var (exit, owner) = await engine.ExecAsync($"{Stack}-app-1", ["stat", "-c", "%u %a", ProxyStack.Model.KeyRing.Directory(ProxyStack.Model.KeyRing.DefaultLocalAppData)], CancellationToken.None);
            Assert.True(exit == 0 && owner.Trim() == "1654 700", owner);
        }

        // Only StackRemoveVolumes removes it.
        var gone = await BuildAsync("StackDown", ("StackRemoveVolumes", "true"));
        Assert.True(gone.ExitCode == 0, gone.ToString());
        Assert.Empty(await Probe.VolumesAsync(Stack));
    }

    /// <summary>Gives the ring's root to root, 0700 (what a new volume is, near enough), through a container of the test's own.</summary>
    private async Task TakeTheRingAsRootAsync()
    {
        var name = $"{Stack}-takes-the-ring";
        await Probe.Client.Containers.CreateContainerAsync(new Docker.DotNet.Models.CreateContainerParameters
        {
            Name = name, Image = $"{Repository.Mirror}/library/nginx:stable", User = "0",
            Entrypoint = ["sh", "-c", "chown 0:0 /ring && chmod 700 /ring"],
            Labels = new Dictionary<string, string> { ["proxystack.stack"] = Stack },
            HostConfig = new Docker.DotNet.Models.HostConfig { Binds = [$"{ProxyStack.Model.StackNames.KeysVolume(Stack)}:/ring"] },
        });
        try
        {
            await Probe.Client.Containers.StartContainerAsync(name, new Docker.DotNet.Models.ContainerStartParameters());
            Assert.Equal(0, (await Probe.Client.Containers.WaitContainerAsync(name)).StatusCode);
        }
        finally
        {
            await Probe.Client.Containers.RemoveContainerAsync(name, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
        }
    }

    [DockerFact]
    public async Task An_antiforgery_form_post_succeeds_on_every_replica_without_affinity()
    {
        var up = await BuildAsync("StackUp");
        Assert.True(up.ExitCode == 0, up.ToString());
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { Timeout = TimeSpan.FromSeconds(30) };

        // The token and its cookie come from one replica; round robin sends the posts to all three.
        var form = await http.GetStringAsync($"{Url}/Form");
        var token = Forms.AntiforgeryToken().Match(form);
        Assert.True(token.Success, form);
        var answeredBy = new HashSet<string>();
        for (var i = 0; i < 9; i++)
        {
            var post = await http.PostAsync($"{Url}/Form", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["name"] = "n" + i, ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
            }));
            var body = await post.Content.ReadAsStringAsync();
            Assert.True(post.StatusCode == HttpStatusCode.OK, $"post {i}: {(int)post.StatusCode}\n{body}");
            var thanks = Regex.Match(body, $"thanks n{i} from (\\S+?)<");
            Assert.True(thanks.Success, body);
            answeredBy.Add(thanks.Groups[1].Value);
        }
        Assert.Equal(3, answeredBy.Count);
    }

    [DockerFact]
    public async Task A_project_running_as_another_user_has_a_ring_of_its_own_which_every_replica_of_it_reads()
    {
        // The front project (the SDK's user, 1654) and a StackProject built to run as 1000, each with two replicas. One ring
        // per replica set: shared by both, it would belong to whichever set's replica was created last (0700), and the other
        // set could read no key at all.
        using var front = new SampleCopy("tests", "Apps", "FormsApp");
        var other = Path.Combine(Path.GetDirectoryName(front.Directory)!, "Other");
        SampleCopy.CopyTree(Repository.File("tests", "Apps", "FormsApp"), other);
        var otherProject = Path.Combine(other, "FormsApp.csproj");
        File.WriteAllText(otherProject, File.ReadAllText(otherProject)
            .Replace("<StackReplicas>3</StackReplicas>", "<ContainerUser>1000</ContainerUser>"));
        front.AddToProject("""
              <ItemGroup>
                <StackProject Include="../Other/FormsApp.csproj" Name="other" Route="/other" Replicas="2" />
              </ItemGroup>
            """);
        var up = await front.BuildAsync("StackUp", StackProps(2));
        Assert.True(up.ExitCode == 0, up.ToString());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // Each set reads, on every replica, what it protected.
        var frontPayload = await http.GetStringAsync($"{Url}/protect");
        var otherPayload = await http.GetStringAsync($"{Url}/other/protect");
        Assert.All(await UnprotectAsync(http, frontPayload, times: 8), c => Assert.Equal(HttpStatusCode.OK, c));
        Assert.All(await UnprotectAsync(http, otherPayload, times: 8, prefix: "/other"), c => Assert.Equal(HttpStatusCode.OK, c));
        // The rings are separate: one set's payloads are not the other's to read.
        Assert.All(await UnprotectAsync(http, frontPayload, times: 4, prefix: "/other"), c => Assert.Equal(HttpStatusCode.BadRequest, c));
        Assert.Equal([$"{Stack}-keys", $"{Stack}-keys-other"], (await Probe.VolumesAsync(Stack)).Select(v => v.Name).Order());

        // Each ring belongs to its own set's user, whichever set was created last.
        using var engine = new ProxyStack.Engine.DockerEngine();
        foreach (var (replica, owner) in new[] { ($"{Stack}-app-1", "1654 700"), ($"{Stack}-other-1", "1000 700") })
        {
            var (exit, stat) = await engine.ExecAsync(replica, ["stat", "-c", "%u %a", ProxyStack.Model.KeyRing.Directory(ProxyStack.Model.KeyRing.DefaultLocalAppData)], CancellationToken.None);
            Assert.True(exit == 0 && stat.Trim() == owner, $"{replica}: {stat}");
        }
        var down = await front.BuildAsync("StackDown", new Dictionary<string, string> { ["StackName"] = Stack, ["StackRemoveVolumes"] = "true" });
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await Probe.VolumesAsync(Stack));
    }

    [DockerFact]
    public async Task Without_the_shared_ring_replicas_refuse_each_others_payloads()
    {
        // What the tests above would see without ProxyStack's ring: the failure they guard against, produced on purpose.
        var up = await BuildAsync("StackUp", ("StackSharedKeys", "false"));
        Assert.True(up.ExitCode == 0, up.ToString());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var payload = await http.GetStringAsync($"{Url}/protect");
        var codes = await UnprotectAsync(http, payload);
        Assert.Contains(HttpStatusCode.BadRequest, codes);
        Assert.Contains(HttpStatusCode.OK, codes);
        Assert.Empty(await Probe.VolumesAsync(Stack));
    }
}
