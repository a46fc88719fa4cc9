// The benchmark's .NET Aspire peer (build/bench-compare.sh): the same stack as every other method there — BENCH_N containers
// of the app image and nginx with ProxyStack's config in front of them, published on loopback — as an Aspire AppHost
// describes it, without the dashboard. Replicas are resources asp-app-1..N: Aspire's container replicas have no shared name
// nginx could resolve, and the config names each replica, as the compose file of the comparison does.
var n = int.Parse(Environment.GetEnvironmentVariable("BENCH_N") ?? "1");
var app = Split(Environment.GetEnvironmentVariable("BENCH_IMAGE") ?? "hellostack:latest");
var nginx = Split(Environment.GetEnvironmentVariable("BENCH_NGINX") ?? "nginx:stable");
var port = int.Parse(Environment.GetEnvironmentVariable("BENCH_PORT") ?? "18494");
var conf = Environment.GetEnvironmentVariable("BENCH_CONF") ?? throw new InvalidOperationException("BENCH_CONF names the nginx config");
// How ProxyStack starts its proxy: the resolver line the config includes, then nginx (bench-compare.sh's proxy_start).
var start = Environment.GetEnvironmentVariable("BENCH_PROXY_START") ?? throw new InvalidOperationException("BENCH_PROXY_START names the proxy's start command");

var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions { Args = args, DisableDashboard = true });
builder.AddContainer("asp-proxy", nginx.Name, nginx.Tag)
    .WithBindMount(conf, "/etc/proxystack/nginx.conf", isReadOnly: true)
    .WithEntrypoint("sh")
    .WithArgs("-c", start)
    .WithHttpEndpoint(port: port, targetPort: 8080, isProxied: false);
for (var i = 1; i <= n; i++) builder.AddContainer($"asp-app-{i}", app.Name, app.Tag);
builder.Build().Run();

static (string Name, string Tag) Split(string image) => image.LastIndexOf(':') is var at && at > image.LastIndexOf('/')
    ? (image[..at], image[(at + 1)..]) : (image, "latest");
