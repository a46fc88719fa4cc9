using ProxyStack.Model;
using ProxyStack.Proxy;
using Xunit;

namespace ProxyStack.Tests;

public class ProxyConfigTests
{

    [Fact]
    public void Bridge_config_matches_the_golden_file()
    {
        var model = Builders.Model(3, "hellostack");
        GoldenFiles.AssertMatches("nginx.bridge.conf", NginxConfigWriter.Write(model));
    }

    [Theory]
    [InlineData("server_tokens off;")]
    [InlineData("keepalive 32;")]
    [InlineData("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;")]
    [InlineData("proxy_set_header X-Forwarded-Proto $scheme;")]
    [InlineData("proxy_set_header X-Real-IP $remote_addr;")]
    [InlineData("proxy_set_header Host $proxystack_host;")]
    [InlineData("proxy_set_header Upgrade $http_upgrade;")]
    [InlineData("proxy_next_upstream error timeout;")]
    [InlineData("server hellostack-app-2:8080 max_fails=3 fail_timeout=5s;")]
    public void Config_carries_what_the_proxy_promises(string directive)
    {
        var model = Builders.Model(3, "hellostack");
        Assert.Contains(directive, NginxConfigWriter.Write(model));
    }

    [Fact]
    public void Upstream_lists_every_replica_by_name_on_the_app_port()
    {
        var model = Builders.Model(2, "shop") with { AppPort = 5000 };
        Assert.Equal(["shop-app-1:5000", "shop-app-2:5000"], StackNetworking.Upstreams(model));
    }

    [Fact]
    public void Build_context_holds_the_dockerfile_and_the_config()
    {
        using var tar = ProxyBuildContext.CreateTar(ProxyBuildContext.Dockerfile("localhost:5000/library/nginx:stable"), "events {}\n");
        using var reader = new System.Formats.Tar.TarReader(tar);
        var names = new List<string>();
        while (reader.GetNextEntry() is { } e) names.Add(e.Name);
        Assert.Equal(["Dockerfile", "nginx.conf"], names);
        var dockerfile = ProxyBuildContext.Dockerfile("localhost:5000/library/nginx:stable");
        Assert.StartsWith("FROM localhost:5000/library/nginx:stable\n", dockerfile);
        Assert.Contains("COPY nginx.conf /etc/proxystack/nginx.conf\n", dockerfile);
        // nginx runs unprivileged and reads only the generated config.
        Assert.Contains("USER 65534:65534\n", dockerfile);
        // The root filesystem is read-only: the resolver line and the config go to the tmpfs where a reload can replace it.
        // Then the hold of a fresh proxy (a no-op without its variables), then nginx.
        Assert.Contains($"CMD {NginxConfigWriter.WriteResolverScript} && cp /etc/proxystack/nginx.conf /run/proxystack/nginx.conf && {{ {ProxyBuildContext.HoldScript} }} && exec nginx -c /run/proxystack/nginx.conf -g 'daemon off;'\n", dockerfile);
    }

    /// <summary>The hold, run by a real sh on names this machine answers from /etc/hosts (the engine's DNS: ProxyTests).</summary>
    [Theory]
    [InlineData(null, 0, false)]
    [InlineData("localhost", 30, true)]
    [InlineData("localhost", -1, false)]
    public void The_hold_waits_only_when_asked_and_in_time_and_says_when_every_name_answered(string? names, int secondsLeft, bool marked)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", $"{{ {ProxyBuildContext.HoldScript} }} && echo started"]) { RedirectStandardOutput = true };
        psi.Environment.Remove(ProxyBuildContext.HoldForVariable);
        if (names is not null)
        {
            psi.Environment[ProxyBuildContext.HoldForVariable] = names;
            psi.Environment[ProxyBuildContext.HoldUntilVariable] = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + secondsLeft).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var sh = System.Diagnostics.Process.Start(psi)!;
        var output = sh.StandardOutput.ReadToEnd();
        sh.WaitForExit();
        Assert.Equal(0, sh.ExitCode);
        Assert.Equal(marked ? ProxyBuildContext.HeldMark + "\nstarted\n" : "started\n", output);
        // A name that answers ends the hold at its first round, long before its 30 s.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    /// <summary>The resolver line is the first nameserver the engine put in the container's resolv.conf, run by a real sh.</summary>
    [Theory]
    [InlineData("nameserver 127.0.0.11\noptions ndots:0\n", "resolver 127.0.0.11 valid=1s ipv6=off;")]
    [InlineData("search dns.podman\nnameserver 10.89.0.1\nnameserver 10.255.255.53\n", "resolver 10.89.0.1 valid=1s ipv6=off;")]
    [InlineData("nameserver fd00::1\n", "resolver [fd00::1] valid=1s ipv6=off;")]
    [InlineData("search example\n", "resolver 127.0.0.11 valid=1s ipv6=off;")]
    public void The_resolver_line_names_the_dns_server_the_engine_gave_the_container(string resolvConf, string expected)
    {
        var dir = Directory.CreateTempSubdirectory("proxystack-resolver-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "resolv.conf"), resolvConf);
            var script = NginxConfigWriter.WriteResolverScript.Replace("/etc/resolv.conf", Path.Combine(dir, "resolv.conf"))
                .Replace(NginxConfigWriter.ResolverPath, Path.Combine(dir, "resolver.conf"));
            using var sh = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", script]))!;
            sh.WaitForExit();
            Assert.Equal(0, sh.ExitCode);
            Assert.Equal(expected + "\n", File.ReadAllText(Path.Combine(dir, "resolver.conf")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>
    /// Only ProxyStack's own probes, which carry the stack's token, stay out of a local stack's access log: a client sending the
    /// header with any other value is logged (before 2026-12-07 any value hid a request). No token, or a published stack: every
    /// request is logged.
    /// </summary>
    [Fact]
    public void Only_the_stacks_own_probe_token_keeps_a_request_out_of_a_local_access_log()
    {
        var model = Builders.Model();
        var config = NginxConfigWriter.Write(model);
        Assert.Contains("map $http_x_proxystack_probe $proxystack_logged {\n        default 1;\n        \"0123456789abcdef0123456789abcdef\" 0;\n    }", config);
        Assert.Contains("access_log /dev/stdout proxystack buffer=64k flush=1s if=$proxystack_logged;", config);
        var untokened = NginxConfigWriter.Write(model with { ProbeToken = "" });
        Assert.DoesNotContain("proxystack_logged", untokened);
        Assert.Contains("access_log /dev/stdout proxystack buffer=64k flush=1s;", untokened);

        // The token: 32 hex digits from the stack's salt, the same from one StackUp to the next, another for another salt.
        var salt = new byte[32];
        Assert.Matches("^[0-9a-f]{32}$", SecretDigests.ProbeToken(salt));
        Assert.Equal(SecretDigests.ProbeToken(salt), SecretDigests.ProbeToken((byte[])salt.Clone()));
        salt[0] = 1;
        Assert.NotEqual(SecretDigests.ProbeToken(new byte[32]), SecretDigests.ProbeToken(salt));
    }

    [Fact]
    public void A_published_stack_tells_the_app_the_scheme_and_prefix_the_proxy_in_front_says_and_a_local_one_its_own()
    {
        var local = NginxConfigWriter.Write(Builders.Model());
        Assert.DoesNotContain("proxystack_forwarded_pro", local);
        Assert.DoesNotContain("proxystack_forwarded_prefix", local);
        Assert.Contains("proxy_set_header X-Forwarded-Proto $scheme;", local);
        Assert.Contains("proxy_set_header X-Forwarded-Prefix \"\"; # not the client's own", local);
        var pattern = new System.Text.RegularExpressions.Regex("^(?<proxystack_front_prefix>/.*[^/])/*$");
        Assert.Equal(["/shop", "/shop", "/a/b", "", "", ""], new[] { "/shop", "/shop//", "/a/b/", "/", "shop", "" }.Select(v => pattern.Match(v) is { Success: true } m ? m.Groups["proxystack_front_prefix"].Value : ""));
        foreach (var target in new[] { ProxyStack.Manifests.StackTargets.Compose, ProxyStack.Manifests.StackTargets.Kubernetes, ProxyStack.Manifests.StackTargets.Swarm })
        {
            var published = NginxConfigWriter.Write(ProxyStack.Manifests.StackWorkloads.ForTarget(Builders.Model(), target));
            // http or https as the proxy in front says; anything else, or nothing, is nginx's own scheme.
            Assert.Contains("map $http_x_forwarded_proto $proxystack_forwarded_proto {\n        default $scheme;\n        http    http;\n        https   https;\n    }", published);
            Assert.Contains("proxy_set_header X-Forwarded-Proto $proxystack_forwarded_proto;", published);
            Assert.DoesNotContain("X-Forwarded-Proto $scheme", published);
            // The prefix the proxy in front removed, a path without its trailing slashes; anything else is none.
            Assert.Contains("map $http_x_forwarded_prefix $proxystack_forwarded_prefix {\n        default \"\";\n        ~^(?<proxystack_front_prefix>/.*[^/])/*$ $proxystack_front_prefix;\n    }", published);
            Assert.Contains("proxy_set_header X-Forwarded-Prefix $proxystack_forwarded_prefix; # the front proxy's, then ours", published);
        }
    }

    [Theory]
    [InlineData("cookie", "bridge")]
    [InlineData("ip", "host")]
    public void Affinity_configs_match_their_golden_files(string affinity, string mode)
    {
        var model = StackModelBuilder.Build(Builders.ValidInput() with { StackName = "hello", SessionAffinity = affinity, NetworkMode = mode, HostPort = "18080" }).Model!;
        var actual = NginxConfigWriter.Write(model);
        if (Environment.GetEnvironmentVariable("PROXYSTACK_WRITE_GOLDEN") is { } dir) File.WriteAllText(Path.Combine(dir, $"nginx.{mode}.{affinity}.conf"), actual);
        GoldenFiles.AssertMatches($"nginx.{mode}.{affinity}.conf", actual);
    }

    [Fact]
    public void SignalR_without_affinity_warns_with_STACK1027_and_cookie_or_one_replica_does_not()
    {
        Assert.True(Affinity.UsesSignalR(["builder.Services.AddSignalR();"]));
        Assert.True(Affinity.UsesSignalR(["builder.Services.AddRazorComponents().AddInteractiveServerComponents();"]));
        Assert.False(Affinity.UsesSignalR(["app.MapGet(\"/\", () => \"hello\");"]));
        var signalR = Builders.ValidInput() with { UsesSignalR = true, Replicas = "3" };
        var warning = Assert.Single(StackModelBuilder.Build(signalR).Diagnostics);
        Assert.Equal("STACK1027: Project 'HelloStack' uses SignalR or interactive server rendering, and StackReplicas is 3 with no session affinity: a client's negotiate and connect requests (or a Blazor circuit) would land on different replicas. Set StackSessionAffinity to cookie.", warning.Format());
        Assert.False(warning.IsError);
        Assert.Empty(StackModelBuilder.Build(signalR with { SessionAffinity = "cookie" }).Diagnostics);
        Assert.Empty(StackModelBuilder.Build(signalR with { Replicas = "1" }).Diagnostics);

        // A StackProject's own code, behind the same nginx with the same affinity setting.
        var chat = Builders.ValidInput() with { Projects = [new ProjectInput("chat") { Path = "c.csproj", Route = "/chat", Replicas = "2", UsesSignalR = true }] };
        Assert.Equal("STACK1027: StackProject 'chat' uses SignalR or interactive server rendering, and its Replicas is 2 with no session affinity: a client's negotiate and connect requests (or a Blazor circuit) would land on different replicas. Set StackSessionAffinity to cookie.",
            Assert.Single(StackModelBuilder.Build(chat).Diagnostics).Format());
        Assert.Empty(StackModelBuilder.Build(chat with { SessionAffinity = "cookie" }).Diagnostics);
        Assert.Empty(StackModelBuilder.Build(chat with { Projects = [chat.Projects[0] with { Replicas = "1" }] }).Diagnostics);
    }

    [Fact]
    public void In_memory_session_state_without_affinity_warns_with_STACK1059_and_a_shared_cache_or_cookie_does_not()
    {
        // The ASP.NET Core docs' session setup: AddDistributedMemoryCache (one cache per process), AddSession, UseSession.
        string[] session = ["builder.Services.AddDistributedMemoryCache();\nbuilder.Services.AddSession(o => o.IdleTimeout = TimeSpan.FromMinutes(20));", "app.UseSession();"];
        Assert.True(Affinity.UsesInMemorySession(session));
        Assert.False(Affinity.UsesInMemorySession([.. session, "builder.Services.AddStackExchangeRedisCache(o => o.Configuration = builder.Configuration.GetConnectionString(\"cache\"));"]));
        Assert.False(Affinity.UsesInMemorySession(["builder.AddRedisDistributedCache(\"cache\");", session[0]]));
        Assert.False(Affinity.UsesInMemorySession(["builder.Services.AddMemoryCache();"]));
        var input = Builders.ValidInput() with { UsesInMemorySession = true, Replicas = "2" };
        var warning = Assert.Single(StackModelBuilder.Build(input).Diagnostics);
        Assert.Equal("STACK1059: Project 'HelloStack' keeps session state (AddSession) in each replica's memory, and StackReplicas is 2 with no session affinity: a client's next request would land on a replica that never saw its session. Set StackSessionAffinity to cookie (a session then still ends when its replica is replaced), or keep sessions in a shared cache: a StackContainer such as redis with AddStackExchangeRedisCache.", warning.Format());
        Assert.False(warning.IsError);
        Assert.Empty(StackModelBuilder.Build(input with { SessionAffinity = "cookie" }).Diagnostics);
        Assert.Empty(StackModelBuilder.Build(input with { Replicas = "1" }).Diagnostics);
        // Both at once: both said.
        Assert.Equal(["STACK1027", "STACK1059"], StackModelBuilder.Build(input with { UsesSignalR = true }).Diagnostics.Select(d => d.Code));

        var cart = Builders.ValidInput() with { Projects = [new ProjectInput("cart") { Path = "c.csproj", Route = "/cart", Replicas = "3", UsesInMemorySession = true }] };
        Assert.StartsWith("STACK1059: StackProject 'cart' keeps session state (AddSession) in each replica's memory, and its Replicas is 3 with no session affinity",
            Assert.Single(StackModelBuilder.Build(cart).Diagnostics).Format());
        Assert.Empty(StackModelBuilder.Build(cart with { SessionAffinity = "ip" }).Diagnostics);
    }

    [Fact]
    public void StackProxyConfig_items_are_checked_and_placed_in_their_block()
    {
        var input = Builders.ValidInput() with
        {
            ProxyConfigs = [("nginx/headers.conf", "", "add_header X-Demo on;\n"), ("nginx/maps.conf", "http", "map $host $demo { default 1; }\n")],
        };
        var model = StackModelBuilder.Build(input).Model!;
        var config = NginxConfigWriter.Write(model);
        var http = config.IndexOf("map $host $demo", StringComparison.Ordinal);
        var upstream = config.IndexOf("upstream app {", StringComparison.Ordinal);
        var listen = config.IndexOf("listen 8080;", StringComparison.Ordinal);
        var header = config.IndexOf("add_header X-Demo on;", StringComparison.Ordinal);
        var location = config.IndexOf("location / {", StringComparison.Ordinal);
        Assert.True(http > 0 && http < upstream, config);
        Assert.True(listen < header && header < location, config);
        Assert.Contains("        # StackProxyConfig begin: nginx/headers.conf\n        add_header X-Demo on;\n        # StackProxyConfig end\n", config);

        Assert.Equal("STACK1029", Assert.Single(StackModelBuilder.Build(Builders.ValidInput() with { ProxyConfigs = [("gone.conf", "", null)] }).Diagnostics).Code);
        var badBlock = Assert.Single(StackModelBuilder.Build(Builders.ValidInput() with { ProxyConfigs = [("x.conf", "location", "")] }).Diagnostics);
        Assert.Equal("STACK1030: StackProxyConfig item 'x.conf' has Block 'location'. Set Block to one of: server, http (server is the default).", badBlock.Format());
    }

    [Fact]
    public void An_nginx_error_in_a_snippet_is_traced_to_its_file_and_line()
    {
        var model = StackModelBuilder.Build(Builders.ValidInput() with { ProxyConfigs = [("nginx/headers.conf", "server", "add_header X-One 1;\nnot_a_directive on;\n")] }).Model!;
        var lines = NginxConfigWriter.Write(model).Split('\n');
        var broken = Array.FindIndex(lines, l => l.Contains("not_a_directive", StringComparison.Ordinal)) + 1;
        Assert.Equal(("nginx/headers.conf", 2), NginxConfigWriter.Locate(model, broken));
        Assert.Null(NginxConfigWriter.Locate(model, broken + 1)); // the end marker is ProxyStack's
        Assert.Null(NginxConfigWriter.Locate(model, 1));
        // Routed by address (Podman), the config nginx checks has other lines: the error is traced in that text.
        var routed = NginxConfigWriter.RouteByAddress(NginxConfigWriter.Write(model with { NginxVersion = "1.30.6" }), new Dictionary<string, string> { ["hello-app-1"] = "10.89.0.11" }).Split('\n');
        var brokenThere = Array.FindIndex(routed, l => l.Contains("not_a_directive", StringComparison.Ordinal)) + 1;
        Assert.NotEqual(broken, brokenThere);
        Assert.Equal(("nginx/headers.conf", 2), NginxConfigWriter.Locate(string.Join('\n', routed), brokenThere));
        // As the STACK4008 message shows it, from nginx's own words:
        var d = ProxyStack.Diagnostics.Diagnostic.Error("ProxyReloadFailed", "hello-proxy", $"nginx: [emerg] unknown directive \"not_a_directive\" in /run/proxystack/nginx.conf.next:{broken}", " (StackProxyConfig 'nginx/headers.conf', line 2)");
        Assert.StartsWith("STACK4008: nginx in 'hello-proxy' rejected the new configuration (StackProxyConfig 'nginx/headers.conf', line 2): nginx: [emerg]", d.Format());
    }
}
