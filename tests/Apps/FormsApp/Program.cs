using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRazorPages();
builder.Services.AddDataProtection();
var app = builder.Build();

app.MapGet("/", () => "forms v1");
// Which replica answered: its container's host name.
app.MapGet("/whoami", () => Environment.MachineName);
// A payload protected with the app's key ring, and whether this replica's ring can read it back.
app.MapGet("/protect", (IDataProtectionProvider p) => p.CreateProtector("proxystack-test").Protect("secret"));
app.MapGet("/unprotect", (IDataProtectionProvider p, string v) =>
{
    try { return Results.Text(p.CreateProtector("proxystack-test").Unprotect(v)); }
    catch (CryptographicException e) { return Results.BadRequest(e.Message); }
});
// How many keys the ring this replica sees holds (ASP.NET Core's default directory under LOCALAPPDATA, which ProxyStack sets).
app.MapGet("/keys", () => Directory.GetFiles(Path.Combine(Environment.GetEnvironmentVariable("LOCALAPPDATA") ?? "/nowhere", "ASP.NET", "DataProtection-Keys"), "key-*.xml").Length.ToString());
app.MapRazorPages();
app.Run();
