using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ProxyStack.Engine;

/// <summary>
/// Which engine endpoint to use, found the way the docker CLI finds it — so that the app image the SDK loads through the CLI
/// and the stack ProxyStack creates land in the same engine — and whether ProxyStack can talk to it. In order:
/// <list type="number">
/// <item>an explicit endpoint (the tasks' DockerHost);</item>
/// <item>DOCKER_HOST;</item>
/// <item>DOCKER_CONTEXT, else the CLI config's currentContext ($DOCKER_CONFIG/config.json, ~/.docker by default), read from the
/// CLI's context store (contexts/meta/&lt;sha256 of the name&gt;/meta.json); "default" means none;</item>
/// <item>the first well-known socket that exists: Docker Desktop's per-user sockets, /var/run/docker.sock, Podman's rootless
/// and rootful sockets (with LocalRegistry=Podman, Podman's come first: the SDK loads the image into Podman's storage).</item>
/// </list>
/// Accepted schemes: unix://, npipe://, tcp:// (plain HTTP), http://, https://. Anything else is an
/// <see cref="EngineEndpointException"/> whose message says what to use instead.
/// </summary>
internal static class EngineEndpoint
{
    /// <summary>What the resolution reads: the environment, files, the home folder and the OS.</summary>
    internal sealed record Machine(Func<string, string?> Environment, Func<string, bool> Exists, Func<string, string?> ReadFile, string Home, bool Windows)
    {
        public static Machine Current { get; } = new(
            System.Environment.GetEnvironmentVariable,
            path => File.Exists(path) || Directory.Exists(path),
            path => File.Exists(path) ? File.ReadAllText(path) : null,
            System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile),
            OperatingSystem.IsWindows());
    }

    /// <summary>
    /// The endpoint, where it came from ("DOCKER_HOST", "context 'colima'", "Docker Desktop's socket" …) and, when it is a
    /// fallback default, the sockets that were looked for.
    /// </summary>
    internal sealed record Choice(Uri Uri, string Source, IReadOnlyList<string> Tried)
    {
        public override string ToString() => $"{Uri} ({Source})";
    }

    public const string DefaultUnixSocket = "/var/run/docker.sock";
    public const string DefaultPipe = "npipe://./pipe/docker_engine";

    public static Choice Resolve(string? explicitEndpoint, Machine machine, bool preferPodman = false)
    {
        if (!string.IsNullOrWhiteSpace(explicitEndpoint)) return new Choice(Parse(explicitEndpoint.Trim()), "DockerHost", []);
        if (machine.Environment("DOCKER_HOST") is { } host && !string.IsNullOrWhiteSpace(host)) return new Choice(Parse(host.Trim()), "DOCKER_HOST", []);

        var config = machine.Environment("DOCKER_CONFIG") is { Length: > 0 } dir ? dir : Path.Combine(machine.Home, ".docker");
        var (context, from) = machine.Environment("DOCKER_CONTEXT") is { Length: > 0 } named ? (named, "DOCKER_CONTEXT")
            : (CurrentContext(config, machine), $"currentContext in {Path.Combine(config, "config.json")}");
        if (context is { Length: > 0 } && context != "default") return FromContext(context, from, config, machine);

        if (machine.Windows)
        {
            var pipes = preferPodman ? new[] { PodmanPipe, DefaultPipe } : [DefaultPipe, PodmanPipe];
            var found = pipes.FirstOrDefault(p => machine.Exists(@"\\.\pipe\" + p["npipe://./pipe/".Length..]));
            return new Choice(Parse(found ?? DefaultPipe), found is null ? "the default pipe" : "the first engine pipe found", found is null ? pipes : []);
        }
        var sockets = WellKnownSockets(machine, preferPodman);
        foreach (var (path, what) in sockets)
            if (machine.Exists(path)) return new Choice(new Uri("unix://" + path), what, []);
        return new Choice(new Uri("unix://" + DefaultUnixSocket), "the default socket", sockets.Select(s => s.Path).ToList());
    }

    private const string PodmanPipe = "npipe://./pipe/podman-machine-default";

    /// <summary>Where engines put their API socket on macOS and Linux, in the order ProxyStack looks.</summary>
    private static List<(string Path, string What)> WellKnownSockets(Machine machine, bool preferPodman)
    {
        var docker = new List<(string, string)>
        {
            (Path.Combine(machine.Home, ".docker", "run", "docker.sock"), "Docker Desktop's socket"),
            (Path.Combine(machine.Home, ".docker", "desktop", "docker.sock"), "Docker Desktop's socket"),
            (DefaultUnixSocket, "the default socket"),
        };
        var podman = new List<(string, string)>();
        if (machine.Environment("XDG_RUNTIME_DIR") is { Length: > 0 } runtime) podman.Add((Path.Combine(runtime, "podman", "podman.sock"), "Podman's rootless socket"));
        podman.Add(("/run/podman/podman.sock", "Podman's rootful socket"));
        return preferPodman ? [.. podman, .. docker] : [.. docker, .. podman];
    }

    /// <summary>The CLI config's currentContext, or null (no config, none set, or a config that is not JSON: the CLI's default).</summary>
    private static string? CurrentContext(string configDir, Machine machine)
    {
        if (machine.ReadFile(Path.Combine(configDir, "config.json")) is not { } text) return null;
        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("currentContext", out var c)
                && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        }
        catch (JsonException) { return null; }
    }

    /// <summary>A context's docker endpoint from the CLI's context store, as `docker context create` writes it.</summary>
    private static Choice FromContext(string name, string from, string configDir, Machine machine)
    {
        var id = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(name))).ToLowerInvariant();
        var meta = Path.Combine(configDir, "contexts", "meta", id, "meta.json");
        var source = $"context '{name}' ({from})";
        if (machine.ReadFile(meta) is not { } text)
            throw new EngineEndpointException(source, $"the context does not exist ({meta} is missing). List contexts with `docker context ls`, or unset DOCKER_CONTEXT / choose one with `docker context use`.");
        string? endpoint;
        try
        {
            using var json = JsonDocument.Parse(text);
            endpoint = json.RootElement.TryGetProperty("Endpoints", out var endpoints) && endpoints.TryGetProperty("docker", out var docker)
                && docker.TryGetProperty("Host", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString() : null;
        }
        catch (JsonException e) { throw new EngineEndpointException(source, $"{meta} is not valid JSON ({e.Message})."); }
        if (string.IsNullOrWhiteSpace(endpoint))
            throw new EngineEndpointException(source, $"{meta} names no docker endpoint. Recreate the context with `docker context create {name} --docker host=…`.");
        if (machine.Exists(Path.Combine(configDir, "contexts", "tls", id, "docker")))
            throw new EngineEndpointException(source, $"its endpoint {endpoint} uses TLS client certificates, which ProxyStack does not support yet. Forward the engine's socket (ssh -nNT -L /tmp/docker.sock:/var/run/docker.sock user@host) and set DOCKER_HOST=unix:///tmp/docker.sock.");
        return new Choice(Parse(endpoint.Trim(), source), source, []);
    }

    /// <summary>An endpoint as written in DOCKER_HOST or a context, checked.</summary>
    public static Uri Parse(string raw, string? describedAs = null)
    {
        var label = describedAs is null ? raw : $"{raw} ({describedAs})";
        var scheme = raw.IndexOf("://", StringComparison.Ordinal) is > 0 and var i ? raw[..i].ToLowerInvariant() : null;
        if (scheme is null)
            throw new EngineEndpointException(label, $"it has no scheme. Write it as tcp://{raw} (a TCP engine) or unix://{raw} (a socket path) in DOCKER_HOST.");
        if (scheme == "ssh")
            throw new EngineEndpointException(label, "ssh:// endpoints are not supported. Forward the remote socket (ssh -nNT -L /tmp/docker.sock:/var/run/docker.sock user@host) and set DOCKER_HOST=unix:///tmp/docker.sock.");
        if (scheme is not ("unix" or "npipe" or "tcp" or "http" or "https"))
            throw new EngineEndpointException(label, $"'{scheme}://' is not an engine scheme. Use unix://, npipe://, tcp:// or https://.");
        if (!Uri.TryCreate(raw, UriKind.Absolute, out var uri) || (scheme is "tcp" or "http" or "https" && (uri.Host.Length == 0 || uri.Port <= 0))
            || (scheme == "unix" && uri.AbsolutePath.Length <= 1))
            throw new EngineEndpointException(label, "it is not a valid address. Examples: unix:///var/run/docker.sock, tcp://127.0.0.1:2375.");
        return uri;
    }
}
