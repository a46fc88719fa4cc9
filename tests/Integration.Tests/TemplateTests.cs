using ProxyStack.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ProxyStack.IntegrationTests;

/// <summary>
/// The ASP.NET Core templates as a user meets them: `dotnet new`, the Sdk line, 2 replicas, StackUp, a request that proves
/// the template's own feature through nginx, StackDown with nothing left. The grpc template speaks HTTP/2 only: a real gRPC
/// client calls its Greeter through nginx. The webapiaot template (native AOT) and a trimmed web app come up as they are.
/// The blazor template's Counter is clicked in a real browser (Debian's chromium, driven by Playwright) at 2 replicas, with
/// server interactivity and with WebAssembly's. F#'s webapi template comes up as C#'s does. The webapp and blazor templates
/// with individual accounts sign a user up and in on both replicas, their SQLite file shared through a volume.
/// </summary>
[Collection(BuildsCollection.Name)]
public sealed class TemplateTests(ITestOutputHelper output) : StackTest
{
    [DockerTheory]
    [InlineData("web", "C#", "/", "Hello World!")]
    // No "/" at all: ready because, with StackHealthPath unset, any answer below 500 means the app serves.
    [InlineData("webapi", "C#", "/weatherforecast", "temperatureC")]
    [InlineData("mvc", "C#", "/Home/Privacy", "Privacy Policy")]
    [InlineData("webapp", "C#", "/Privacy", "Privacy Policy")]
    // F#'s web templates (web, webapi, mvc) make an .fsproj: the same SDK, the same targets.
    [InlineData("webapi", "F#", "/weatherforecast", "temperatureC")]
    public async Task A_template_comes_up_behind_nginx_with_the_Sdk_line_alone(string template, string language, string path, string expected)
    {
        using var app = await TemplateProject.CreateAsync(template, language);
        await UpAsync(app, template);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var response = await http.GetAsync($"http://127.0.0.1:{Port}{path}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}\n{body}");
        Assert.Contains(expected, body);

        await DownAsync(app);
    }

    [DockerFact]
    public async Task The_grpc_template_answers_a_gRPC_client_through_nginx_at_2_replicas()
    {
        using var app = await TemplateProject.CreateAsync("grpc");
        await UpAsync(app, "grpc");

        // Cleartext HTTP/2 with prior knowledge, as Grpc.Net.Client speaks to an http:// address; nginx spreads the calls.
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{Port}");
        var client = new Greet.Greeter.GreeterClient(channel);
        for (var i = 0; i < 4; i++)
            Assert.Equal($"Hello n{i}", (await client.SayHelloAsync(new Greet.HelloRequest { Name = "n" + i })).Message);
        // And plain HTTP/1.1 on the same port still reaches the app (its "/" says to use a gRPC client).
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Contains("gRPC", await http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        await DownAsync(app);
    }

    /// <summary>
    /// A whole application with gRPC: the web template in front, the grpc template beside it as a StackProject, nothing set but
    /// the item. Its appsettings.json makes Kestrel speak HTTP/2 only, which ProxyStack reads: its replicas are probed over
    /// HTTP/2 and nginx passes to them with grpc_pass, both at its route and under its name (services__greeter__http__0, the
    /// address the other replicas get), while the front project is plain HTTP/1.1 on the same port.
    /// </summary>
    [DockerFact]
    public async Task A_grpc_StackProject_answers_gRPC_at_its_route_and_under_its_name_beside_an_HTTP1_front_project()
    {
        using var app = await TemplateProject.CreateAsync("web");
        await app.AddProjectAsync("grpc", "Greeter");
        // Its route is the gRPC service's own path, kept as it is: gRPC clients call /greet.Greeter/SayHello.
        app.AddToProject("""  <ItemGroup><StackProject Include="../Greeter/Greeter.csproj" Name="greeter" Route="/greet.Greeter" StripPrefix="false" Replicas="2" /></ItemGroup>""");
        await UpAsync(app, "web + grpc StackProject");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("Hello World!", await http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        using (var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{Port}"))
        {
            var client = new Greet.Greeter.GreeterClient(channel);
            for (var i = 0; i < 4; i++)
                Assert.Equal($"Hello n{i}", (await client.SayHelloAsync(new Greet.HelloRequest { Name = "n" + i })).Message);
        }
        // Under its name, as another replica reaches it (http://greeter:8080): HTTP/2 with prior knowledge to the same port,
        // the host named greeter — every path goes to the project, its own "/" included.
        using (var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{Port}", new() { HttpHandler = new HostHeader("greeter:8080", new SocketsHttpHandler()) }))
            Assert.Equal("Hello by name", (await new Greet.Greeter.GreeterClient(channel).SayHelloAsync(new Greet.HelloRequest { Name = "by name" })).Message);
        using var h2 = new HttpClient(new HostHeader("greeter:8080", new SocketsHttpHandler())) { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        Assert.Contains("gRPC", await h2.GetStringAsync($"http://127.0.0.1:{Port}/"));
        await DownAsync(app);
    }

    /// <summary>
    /// The worker template as a StackProject without Route: its replicas run in the background beside the web front project
    /// (nginx knows nothing of them), ready once their host has started — even with the host's lifetime messages quietened in
    /// its appsettings.json; a code change replaces them; StackDown removes them.
    /// </summary>
    [DockerFact]
    public async Task The_worker_template_runs_in_the_background_as_a_StackProject_without_Route_and_a_change_replaces_it()
    {
        using var app = await TemplateProject.CreateAsync("web");
        // Named as a user would name it: a project called Worker clashes with the template's Worker class.
        var workerProject = await app.AddProjectAsync("worker", "Jobs");
        var workerCode = Path.Combine(Path.GetDirectoryName(workerProject)!, "Worker.cs");
        await File.WriteAllTextAsync(workerCode, (await File.ReadAllTextAsync(workerCode)).Replace("\"Worker running at", "\"Worker v1 running at"));
        // Quieter than the template: "Application started." is written only because the replicas' environment asks for it.
        var settings = Path.Combine(Path.GetDirectoryName(workerProject)!, "appsettings.json");
        var quiet = (await File.ReadAllTextAsync(settings)).Replace("\"Microsoft.Hosting.Lifetime\": \"Information\"", "\"Microsoft.Hosting.Lifetime\": \"Warning\"");
        Assert.Contains("\"Microsoft.Hosting.Lifetime\": \"Warning\"", quiet);
        await File.WriteAllTextAsync(settings, quiet);
        app.AddToProject("""  <ItemGroup><StackProject Include="../Jobs/Jobs.csproj" Replicas="2" /></ItemGroup>""");
        var up = await app.BuildAsync("StackUp", Props);
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains($"Stack '{Stack}': StackProject 'jobs', 2 replica(s), in the background (no Route: nginx does not serve it)", up.Output);
        // It takes no requests, so it has no key ring, and nothing is said of one; a worker is no web app without its Route.
        Assert.DoesNotContain("key ring", up.Output);
        Assert.DoesNotContain("STACK1061", up.Output);
        Assert.DoesNotContain(await Probe.VolumesAsync(Stack), v => v.Name.Contains("jobs", StringComparison.Ordinal));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("Hello World!", await http.GetStringAsync($"http://127.0.0.1:{Port}/"));
        using var engine = new ProxyStack.Engine.DockerEngine();
        async Task<string> WorkerLogs(int replica)
        {
            for (var i = 0; ; i++)
            {
                var logs = await engine.GetLogsAsync($"{Stack}-jobs-{replica}", 50, CancellationToken.None);
                if (logs.Contains("running at", StringComparison.Ordinal) || i == 20) return logs;
                await Task.Delay(250);
            }
        }
        var first = new List<string>();
        foreach (var replica in new[] { 1, 2 })
        {
            var container = await Probe.InspectAsync($"{Stack}-jobs-{replica}");
            Assert.True(container.State.Running);
            Assert.Equal("jobs", container.Config.Labels["proxystack.project"]);
            first.Add(container.ID);
            var logs = await WorkerLogs(replica);
            Assert.Contains("Application started.", logs);
            Assert.Contains("Worker v1 running at", logs);
        }
        // nginx has no route, upstream or name of it.
        var proxy = await Probe.InspectAsync($"{Stack}-proxy");
        Assert.DoesNotContain("jobs", proxy.NetworkSettings.Networks.Values.SelectMany(n => n.Aliases ?? []));

        // A code change of the worker alone: its replicas are replaced, the front project's kept.
        var front = (await Probe.InspectAsync($"{Stack}-app-1")).ID;
        await File.WriteAllTextAsync(workerCode, (await File.ReadAllTextAsync(workerCode)).Replace("Worker v1 running at", "Worker v2 running at"));
        var again = await app.BuildAsync("StackUp", Props);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(front, (await Probe.InspectAsync($"{Stack}-app-1")).ID);
        foreach (var replica in new[] { 1, 2 })
        {
            var container = await Probe.InspectAsync($"{Stack}-jobs-{replica}");
            Assert.DoesNotContain(container.ID, first);
            Assert.Contains("Worker v2 running at", await WorkerLogs(replica));
        }
        await DownAsync(app);
    }

    /// <summary>Sends every request with another Host (HTTP/2: :authority) than the address it goes to.</summary>
    private sealed class HostHeader(string host, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            request.Headers.Host = host;
            return base.SendAsync(request, ct);
        }
    }

    /// <summary>
    /// The Blazor Web App template at 2 replicas: without affinity it serves, and is warned about (STACK1027 names the
    /// property); with StackSessionAffinity=cookie, as the warning says, its Counter page clicked in a real headless browser
    /// counts — the circuit's negotiate and WebSocket stay on one replica through nginx.
    /// </summary>
    [DockerFact]
    public async Task The_blazor_templates_counter_counts_in_a_browser_at_2_replicas_with_cookie_affinity()
    {
        using var app = await TemplateProject.CreateAsync("blazor");
        var plain = await app.BuildAsync("StackUp", Props);
        output.WriteLine($"blazor: StackUp took {plain.Elapsed.TotalSeconds:0.0} s");
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Contains("warning STACK1027: Project 'StackApp' uses SignalR or interactive server rendering, and StackReplicas is 2 with no session affinity", plain.Output);
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
            Assert.Contains("Counter", await http.GetStringAsync($"http://127.0.0.1:{Port}/counter"));

        await UpAsync(app, "blazor (with cookie affinity)", new Dictionary<string, string>(Props) { ["StackSessionAffinity"] = "cookie" });
        using var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        await using var browser = await Browser.LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var sockets = 0;
        page.WebSocket += (_, _) => Interlocked.Increment(ref sockets);
        // The page is prerendered: a click counts only once the circuit is connected.
        await CounterCountsAsync(page, TimeSpan.FromSeconds(30));
        Assert.True(sockets >= 1, "the circuit used no WebSocket");
        var cookies = await page.Context.CookiesAsync();
        Assert.Contains(cookies, c => c.Name == "proxystack_affinity");
        await DownAsync(app);
    }

    /// <summary>
    /// The blazor template with WebAssembly interactivity (a server project and its .Client): the Counter runs in the browser
    /// once the .NET WebAssembly runtime has come through nginx, at 2 replicas and without affinity (no circuit, no WebSocket,
    /// so no STACK1027).
    /// </summary>
    [DockerFact]
    public async Task The_blazor_templates_WebAssembly_counter_counts_in_a_browser_at_2_replicas()
    {
        using var app = await TemplateProject.CreateAsync("blazor", "C#", "--interactivity", "WebAssembly", "--all-interactive");
        var up = await app.BuildAsync("StackUp", Props);
        output.WriteLine($"blazor WebAssembly: StackUp took {up.Elapsed.TotalSeconds:0.0} s");
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.DoesNotContain("STACK1027", up.Output);

        using var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        await using var browser = await Browser.LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var sockets = 0;
        page.WebSocket += (_, _) => Interlocked.Increment(ref sockets);
        var wasm = new System.Collections.Concurrent.ConcurrentBag<(string Url, int Status)>();
        page.Response += (_, r) => { if (r.Url.EndsWith(".wasm", StringComparison.Ordinal)) wasm.Add((r.Url, r.Status)); };
        // Prerendered: a click counts once the runtime has loaded and the component is interactive.
        await CounterCountsAsync(page, TimeSpan.FromSeconds(60));
        // The runtime and the app's assemblies came through nginx as WebAssembly files, and nothing kept a socket open.
        Assert.NotEmpty(wasm);
        Assert.All(wasm, w => Assert.True(w.Status is 200 or 304, $"{w.Url}: {w.Status}"));
        Assert.Equal(0, sockets);
        await DownAsync(app);
    }

    /// <summary>
    /// Native AOT (the webapiaot template as it is) and a trimmed app (the web template with PublishTrimmed) name no runtime
    /// identifier: ProxyStack publishes their containers for linux-&lt;this machine's architecture&gt;, self-contained, on the
    /// runtime-deps base the SDK picks, while a plain build of the project stays runtime-independent.
    /// </summary>
    [DockerTheory]
    [InlineData("webapiaot", "", "/todos", "Walk the dog", "dotnet/runtime-deps:10.0-noble-chiseled")]
    [InlineData("web", "PublishTrimmed", "/", "Hello World!", "dotnet/runtime-deps:10.0-noble-chiseled-extra")]
    public async Task A_native_AOT_or_trimmed_app_comes_up_without_a_runtime_identifier(string template, string addProperty, string path, string expected, string baseImage)
    {
        using var app = await TemplateProject.CreateAsync(template);
        if (addProperty.Length > 0)
        {
            var project = await File.ReadAllTextAsync(app.ProjectFile);
            await File.WriteAllTextAsync(app.ProjectFile, project.Replace("<Nullable>", $"<{addProperty}>true</{addProperty}>\n    <Nullable>"));
        }
        Assert.DoesNotContain("<RuntimeIdentifier>", await File.ReadAllTextAsync(app.ProjectFile));
        await UpAsync(app, template + (addProperty.Length > 0 ? $" ({addProperty})" : ""));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Contains(expected, await http.GetStringAsync($"http://127.0.0.1:{Port}{path}"));
        // Published for Linux on this machine's architecture, with no .NET runtime in the image.
        var image = await Probe.Client.Images.InspectImageAsync((await Probe.InspectAsync($"{Stack}-app-1")).Config.Image);
        Assert.EndsWith(baseImage, image.Config.Labels["org.opencontainers.image.base.name"]);
        Assert.Equal(System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64", image.Architecture);
        Assert.Equal("image-of", image.Config.Labels.Keys.Single(k => k.StartsWith("proxystack.", StringComparison.Ordinal))["proxystack.".Length..]);
        // The runtime identifier went into the container publish only: the project's own build output is runtime-independent.
        Assert.True(File.Exists(Path.Combine(app.Directory, "bin", "Debug", "net10.0", "StackApp.dll")));
        await DownAsync(app);
    }

    /// <summary>
    /// The templates with individual accounts keep their users in a SQLite file of their own folder (app.db; the blazor
    /// template's in Data/), which the image has read-only for the app's user and once per replica. Signed up on one replica,
    /// the user's email confirmed and signed in on both, through nginx; the confirmation link the app writes carries the
    /// stack's port (nginx passes the client's Host); after StackDown and StackUp the user is still there (the database
    /// volume is kept like the key ring), and behind StackHttpsPort the link is https (the replicas see the client's scheme,
    /// with no code change). The forms are plain posts (Razor Pages; the blazor template's account pages render statically),
    /// so no affinity is set.
    /// </summary>
    [DockerTheory]
    [InlineData("webapp", "/Identity/Account")]
    [InlineData("blazor", "/Account")]
    public async Task A_template_with_individual_accounts_signs_up_and_in_across_2_replicas_and_keeps_its_users(string template, string account)
    {
        using var app = await TemplateProject.CreateAsync(template, "C#", "--auth", "Individual");
        await UpAsync(app, $"{template} --auth Individual");
        var url = $"http://127.0.0.1:{Port}";
        const string password = "Passw0rd!";
        await SignsUpAsync(url + account, "ada@example.com", password);
        await SignsInAsync(url + account, "ada@example.com", password);

        var down = await app.BuildAsync("StackDown", Props);
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Contains($"kept volume(s) {Stack}-appdata, {Stack}-keys (the Data Protection key rings, so sign-ins and forms survive the next StackUp; the app's SQLite databases).", down.Output);
        var https = Ports.Free();
        await UpAsync(app, $"{template} --auth Individual (again, with HTTPS)", new Dictionary<string, string>(Props) { ["StackHttpsPort"] = https.ToString() });
        await SignsInAsync(url + account, "ada@example.com", password);
        await SignsUpAsync($"https://127.0.0.1:{https}{account}", "grace@example.com", password);
        await SignsInAsync($"https://127.0.0.1:{https}{account}", "grace@example.com", password);
        await DownAsync(app);
    }

    /// <summary>Signs up at <paramref name="account"/>/Register and follows the confirmation link the app writes, which must point at that same address.</summary>
    private async Task SignsUpAsync(string account, string email, string password)
    {
        using var client = Forms.Client();
        var registered = await Forms.PostAsync(client, $"{account}/Register",
            ("Input.Email", email), ("Input.Password", password), ("Input.ConfirmPassword", password));
        Assert.True(registered.StatusCode == System.Net.HttpStatusCode.Redirect, $"sign-up: {(int)registered.StatusCode}\n{await registered.Content.ReadAsStringAsync()}\n"
            + string.Join("\n", await Task.WhenAll((await Probe.ContainersAsync(Stack)).Select(c => Probe.LogsAsync(c.ID)))));
        var confirmation = await client.GetStringAsync(new Uri(new Uri(account), registered.Headers.Location!));
        var link = System.Net.WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Match(confirmation, "href=\"([^\"]*ConfirmEmail[^\"]*)\"").Groups[1].Value);
        Assert.StartsWith($"{account}/ConfirmEmail?", link);
        Assert.Contains("Thank you for confirming your email", await client.GetStringAsync(link));
    }

    /// <summary>Four sign-ins, each on a new connection: round robin takes them to both replicas, and each must find the user.</summary>
    private static async Task SignsInAsync(string account, string email, string password)
    {
        for (var i = 0; i < 4; i++)
        {
            using var client = Forms.Client();
            var signedIn = await Forms.PostAsync(client, $"{account}/Login", ("Input.Email", email), ("Input.Password", password));
            Assert.True(signedIn.StatusCode == System.Net.HttpStatusCode.Redirect, $"sign-in {i + 1} at {account}: {(int)signedIn.StatusCode}\n{await signedIn.Content.ReadAsStringAsync()}");
            Assert.Contains(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith(".AspNetCore.Identity.Application=", StringComparison.Ordinal));
        }
    }

    private Dictionary<string, string> Props => StackProps(2);

    /// <summary>StackUp at 2 replicas; its time is what docs/benchmarks.md records per template (restore to ready).</summary>
    /// <summary>
    /// Opens the blazor template's Counter, clicks until a click counts (the prerendered page becomes interactive within
    /// <paramref name="interactiveWithin"/>), then asserts that two more clicks count two more.
    /// </summary>
    private async Task CounterCountsAsync(Microsoft.Playwright.IPage page, TimeSpan interactiveWithin)
    {
        // What the page met on its way to interactive, in the test's output, so a counter that never counts says why.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Note(string what) { try { output.WriteLine($"[{clock.Elapsed.TotalSeconds:0.0} s] {what}"); } catch (InvalidOperationException) { } }
        var networkChanged = 0;
        page.Console += (_, m) => { if (m.Type is "error" or "warning") Note($"console {m.Type}: {m.Text}"); };
        page.RequestFailed += (_, r) =>
        {
            Note($"request failed: {r.Method} {r.Url}: {r.Failure}");
            if (r.Failure?.Contains("ERR_NETWORK_CHANGED", StringComparison.Ordinal) == true) Interlocked.Exchange(ref networkChanged, 1);
        };
        page.Response += (_, r) => { if (r.Status >= 400) Note($"HTTP {r.Status}: {r.Request.Method} {r.Url}"); };
        var url = $"http://127.0.0.1:{Port}/counter";
        await page.GotoAsync(url);
        var status = page.Locator("p[role=status]");
        await Microsoft.Playwright.Assertions.Expect(status).ToHaveTextAsync("Current count: 0");
        var button = page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Click me" });
        var deadline = DateTime.UtcNow + interactiveWithin;
        while (await status.TextContentAsync() == "Current count: 0" && DateTime.UtcNow < deadline)
        {
            if (Interlocked.Exchange(ref networkChanged, 0) == 1)
            {
                // Chromium fails every request in flight when this host's interfaces change — another test's network or
                // container coming or going (seen once in eight runs of the two Blazor tests: the WebAssembly runtime's
                // downloads all failed with ERR_NETWORK_CHANGED within a millisecond), and the runtime does not try again.
                // Not the stack's doing: the page is loaded again, as its user would.
                Note("this host's network changed under the page: loading it again");
                await page.GotoAsync(url);
                continue;
            }
            await button.ClickAsync();
            await Task.Delay(250);
        }
        var counted = int.Parse((await status.TextContentAsync())!.Split(':')[1]);
        await button.ClickAsync();
        await button.ClickAsync();
        await Microsoft.Playwright.Assertions.Expect(status).ToHaveTextAsync($"Current count: {counted + 2}");
    }

    private async Task UpAsync(TemplateProject app, string label, Dictionary<string, string>? props = null)
    {
        var up = await app.BuildAsync("StackUp", props ?? Props);
        output.WriteLine($"{label}: StackUp took {up.Elapsed.TotalSeconds:0.0} s");
        Assert.True(up.ExitCode == 0, up.ToString());
    }

    private async Task DownAsync(TemplateProject app)
    {
        var down = await app.BuildAsync("StackDown", Props);
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(await Probe.ContainersAsync(Stack));
        Assert.Empty(await Probe.NetworksAsync(Stack));
    }
}
