using System.Net.WebSockets;
using Microsoft.AspNetCore.HttpOverrides;

var builder = WebApplication.CreateBuilder(args);
// Behind ProxyStack's nginx: trust its X-Forwarded-For/-Proto/-Host, so the app sees the client's address, scheme and host.
// nginx is the only way in (replicas publish no port), so every proxy on the stack's private network is trusted.
builder.Services.Configure<ForwardedHeadersOptions>(options =>
{
    options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
    options.KnownIPNetworks.Clear();
    options.KnownProxies.Clear();
});
var app = builder.Build();
app.UseForwardedHeaders();
app.UseWebSockets();

app.MapGet("/", () => "hello world\n");
// The replica's host name (its container id), so load balancing across replicas can be seen.
app.MapGet("/whoami", () => Environment.MachineName + "\n");
// The serving process's id: with StackAppOnHost (F5 that debugs) a process on the host, else a replica's own (1 or so).
app.MapGet("/pid", () => $"{Environment.ProcessId}\n");
// The host environment, a value only appsettings.Development.json sets and one only the launch profile sets: Development and
// both values under `dotnet run`, Production and neither under StackUp.
app.MapGet("/environment", () => $"{app.Environment.EnvironmentName} {app.Configuration["HelloStack:Settings"] ?? "-"} {app.Configuration["HelloStack:Profile"] ?? "-"}\n");
// What the app sees of the client once the forwarded headers are applied.
app.MapGet("/client", (HttpContext c) => $"{c.Request.Scheme} {c.Request.Host} {c.Connection.RemoteIpAddress}\n");
// A 503 of the app's own (what ASP.NET Core's rate limiter answers by default), naming the replica.
app.MapGet("/unavailable", () => Results.Text(Environment.MachineName + "\n", statusCode: 503));
// The forwarding headers the app got that the proxy cannot vouch for here, in brackets (X-Forwarded-Prefix is what an app
// behind a removed prefix reads for UsePathBase; at / there is none).
app.MapGet("/forwarded", (HttpContext c) =>
    $"prefix=[{c.Request.Headers["X-Forwarded-Prefix"]}] port=[{c.Request.Headers["X-Forwarded-Port"]}] forwarded=[{c.Request.Headers["Forwarded"]}]\n");
// Server-Sent Events: five events 300 ms apart, each carrying the time it was written (Unix ms).
app.MapGet("/sse", async (HttpContext c, CancellationToken ct) =>
{
    c.Response.ContentType = "text/event-stream";
    for (var i = 0; i < 5; i++)
    {
        await c.Response.WriteAsync($"data: {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}\n\n", ct);
        await c.Response.Body.FlushAsync(ct);
        await Task.Delay(300, ct);
    }
});
// Large headers both ways, as sign-ins (chunked auth cookies) and large bearer tokens make them: answers the length of the
// Cookie header it got, and sends `kb` response headers of 1 000 bytes each.
app.MapGet("/headers", (HttpContext c, int kb) =>
{
    for (var i = 0; i < kb; i++) c.Response.Headers.Append($"X-Filler-{i}", new string('f', 1000));
    return $"{c.Request.Headers.Cookie.ToString().Length}\n";
});
// Uploads: how many bytes arrived.
app.MapPost("/upload", async (HttpRequest request) =>
{
    var buffer = new byte[81920];
    long total = 0;
    int read;
    while ((read = await request.Body.ReadAsync(buffer)) > 0) total += read;
    return $"{total}\n";
});
// A slow write: reads the body, takes a second, answers how many bytes arrived (a redeploy must let such requests finish).
app.MapPost("/slow", async (HttpRequest request) =>
{
    using var reader = new StreamReader(request.Body);
    var body = await reader.ReadToEndAsync();
    await Task.Delay(1000);
    return $"{body.Length}\n";
});
// WebSocket echo.
app.Map("/ws", async (HttpContext c) =>
{
    if (!c.WebSockets.IsWebSocketRequest) { c.Response.StatusCode = 400; return; }
    using var socket = await c.WebSockets.AcceptWebSocketAsync();
    var buffer = new byte[4096];
    while (true)
    {
        var received = await socket.ReceiveAsync(buffer, c.RequestAborted);
        if (received.MessageType == WebSocketMessageType.Close) break;
        await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, c.RequestAborted);
    }
    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
});
// A counter kept in the stack's Redis (the StackContainer "cache" of HelloStack.csproj), one INCR per request, so every
// replica counts on one number. ProxyStack passes its address as ConnectionStrings__cache ("cache:6379", the format
// StackExchange.Redis's ConnectionMultiplexer.Connect reads); a real app would use that client, this one speaks RESP itself.
app.MapGet("/count", async (CancellationToken ct) =>
{
    if (app.Configuration.GetConnectionString("cache") is not { Length: > 0 } cache) return Results.NotFound("no cache configured\n");
    var endpoint = cache.Split(',')[0].Split(':');
    using var tcp = new System.Net.Sockets.TcpClient();
    await tcp.ConnectAsync(endpoint[0], endpoint.Length > 1 ? int.Parse(endpoint[1]) : 6379, ct);
    var stream = tcp.GetStream();
    await stream.WriteAsync("*2\r\n$4\r\nINCR\r\n$5\r\ncount\r\n"u8.ToArray(), ct);
    var reply = new byte[64];
    var read = await stream.ReadAsync(reply, ct);
    return Results.Text(System.Text.Encoding.ASCII.GetString(reply, 0, read).TrimStart(':').Trim() + "\n");
});
// The API project (StackProject "api") called from here, at the address ProxyStack passes as services__api__http__0 — the key
// Microsoft.Extensions.ServiceDiscovery reads ("http://api:8080": the stack's nginx, which routes only to ready replicas).
app.MapGet("/from-api", async (CancellationToken ct) =>
{
    if (app.Configuration["services:api:http:0"] is not { Length: > 0 } api) return Results.NotFound("no api configured\n");
    using var http = new HttpClient();
    return Results.Text(await http.GetStringAsync(api + "/", ct));
});

app.Run();
