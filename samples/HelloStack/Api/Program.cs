var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();

// Served at /api through the stack's nginx (the prefix removed): GET /api answers this.
app.MapGet("/", () => "hello from the api\n");
// The replica's host name (its container id), so load balancing across the API's replicas can be seen.
app.MapGet("/whoami", () => Environment.MachineName + "\n");
// The prefix nginx removed (X-Forwarded-Prefix), and the environment the API runs in.
app.MapGet("/info", (HttpContext c) => $"{c.Request.Headers["X-Forwarded-Prefix"]} {app.Environment.EnvironmentName} {app.Configuration["Greeting"] ?? "-"}\n");
// The request target as the API got it, undecoded: with the prefix removed by nginx, an encoded '/' (%2F) or a '//' in the
// path arrives as the client sent it.
app.MapGet("/target/{**rest}", (HttpContext c) => c.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget + "\n");

app.Run();
