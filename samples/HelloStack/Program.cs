var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();

app.MapGet("/", () => "hello world\n");
// The replica's host name (its container id), so load balancing across replicas can be seen.
app.MapGet("/whoami", () => Environment.MachineName + "\n");

app.Run();
