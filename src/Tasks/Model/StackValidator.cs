using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using ProxyStack.Diagnostics;

namespace ProxyStack.Model;

/// <summary>
/// Checks raw input and returns every problem at once. Values that end up in nginx.conf are refused (never escaped) when they
/// contain anything but a conservative character set, so a bad value can never inject configuration.
/// </summary>
internal static partial class StackValidator
{
    public const int MaxReplicas = 16;

    [GeneratedRegex(@"^/[A-Za-z0-9\-._~/%?=&+]{0,255}\z")]
    private static partial Regex HealthPathPattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z")]
    private static partial Regex EnvNamePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_.]*\z")]
    private static partial Regex ContainerEnvNamePattern();

    /// <summary>
    /// Every problem of the input at once, and — when there is no error — the settings, each parsed and checked here once:
    /// the model is built from them, never from the raw text again.
    /// </summary>
    public static (StackSettings? Settings, IReadOnlyList<Diagnostic> Diagnostics) Validate(StackInput input)
    {
        var d = new List<Diagnostic>();
        var rawName = input.StackName.Length > 0 ? input.StackName : input.ProjectName;
        var name = StackNames.Normalize(rawName);
        if (name is null) d.Add(Diagnostic.Error(nameof(Strings.StackNameInvalid), rawName));
        else if (input.StackName.Length > 0 && name != input.StackName) d.Add(Diagnostic.Warning(nameof(Strings.StackNameNormalized), rawName, name));

        var mode = StackNetworkMode.Parse(input.NetworkMode);
        var replicas = Checked(ParseInt(input.Replicas), r => r is >= 1 and <= MaxReplicas, d, () => Diagnostic.Error(nameof(Strings.ReplicasOutOfRange), input.Replicas, MaxReplicas));
        var hostPort = Port(input.HostPort, "StackHostPort", d);
        var appPort = Port(input.AppPort, "StackAppPort", d);
        var https = ValidateHttps(input, mode, hostPort, replicas, d);
        var readyTimeout = Checked(ParseInt(input.ReadyTimeout), t => t is >= 1 and <= 3600, d, () => Diagnostic.Error(nameof(Strings.ReadyTimeoutInvalid), input.ReadyTimeout));
        var lockTimeout = Checked(ParseInt(input.LockTimeout), t => t is >= 1 and <= 3600, d, () => Diagnostic.Error(nameof(Strings.SecondsInvalid), "StackLockTimeout", input.LockTimeout));
        var affinity = input.SessionAffinity.Trim().ToLowerInvariant();
        if (!Affinity.Modes.Contains(affinity))
            d.Add(Diagnostic.Error(nameof(Strings.SessionAffinityInvalid), input.SessionAffinity, string.Join(", ", Affinity.Modes)));
        else if (affinity == Affinity.None && replicas is > 1)
        {
            if (input.UsesSignalR) d.Add(Diagnostic.Warning(nameof(Strings.SignalRWithoutAffinity), $"Project '{input.ProjectName}'", "StackReplicas", input.Replicas));
            if (input.UsesInMemorySession) d.Add(Diagnostic.Warning(nameof(Strings.SessionWithoutAffinity), $"Project '{input.ProjectName}'", "StackReplicas", input.Replicas));
        }
        foreach (var (path, block, content) in input.ProxyConfigs)
        {
            if (content is null) d.Add(Diagnostic.Error(nameof(Strings.ProxyConfigUnreadable), path));
            else if (block.Length > 0 && !ProxyConfigSnippet.Blocks.Contains(block.Trim().ToLowerInvariant()))
                d.Add(Diagnostic.Error(nameof(Strings.ProxyConfigBlockInvalid), path, block, string.Join(", ", ProxyConfigSnippet.Blocks)));
        }
        var proxyReadTimeout = Checked(ParseInt(input.ProxyReadTimeout), t => t is >= 1 and <= 86400, d, () => Diagnostic.Error(nameof(Strings.ProxyReadTimeoutInvalid), input.ProxyReadTimeout));
        var maxBody = Checked(ParseLong(input.MaxRequestBodySize), b => b is >= 0 and <= MaxBodySize, d, () => Diagnostic.Error(nameof(Strings.MaxRequestBodySizeInvalid), input.MaxRequestBodySize, MaxBodySize));

        switch (ParseHostAddress(input.HostAddress))
        {
            case (null, _):
                d.Add(Diagnostic.Error(nameof(Strings.HostAddressInvalid), input.HostAddress));
                break;
            case ({ } canonical, _) when canonical != input.HostAddress:
                // Docker reads addresses with Go's strict parser: "127.1" or "0177.0.0.1" is not an address to it, and an
                // address it cannot read publishes on every interface. Only the canonical text means the same to both.
                d.Add(Diagnostic.Error(nameof(Strings.HostAddressNotCanonical), input.HostAddress, canonical));
                break;
            case (_, { } parsed) when !IPAddress.IsLoopback(parsed):
                d.Add(Diagnostic.Warning(nameof(Strings.HostAddressAllInterfaces), input.HostAddress));
                break;
        }
        if (mode is { OnHostNetwork: true } && hostPort is < 1024)
            d.Add(Diagnostic.Error(nameof(Strings.HostModePrivilegedPort), hostPort));
        if (IsRootUser(input.ContainerUser)) d.Add(Diagnostic.Warning(nameof(Strings.ContainerUserRoot), input.ContainerUser));
        var adopt = Bool(input.Adopt, "StackAdopt", d);

        if (input.HealthPath.Length > 0 && !HealthPathPattern().IsMatch(input.HealthPath)) d.Add(Diagnostic.Error(nameof(Strings.HealthPathInvalid), input.HealthPath));
        var nginx = ImageReference.Parse(input.NginxImage);
        if (nginx is null) d.Add(Diagnostic.Error(nameof(Strings.ImageReferenceInvalid), "StackNginxImage", input.NginxImage));
        if (input.RegistryMirror.Length > 0 && !ImageReference.IsValidMirror(input.RegistryMirror))
            d.Add(Diagnostic.Error(nameof(Strings.RegistryMirrorInvalid), input.RegistryMirror));
        if (mode is null)
            d.Add(Diagnostic.Error(nameof(Strings.NetworkModeInvalid), input.NetworkMode, string.Join(", ", StackNetworkMode.All)));
        else if (mode.LinksReplicas) d.Add(Diagnostic.Warning(nameof(Strings.LinkModeLegacy)));
        else if (mode.OnHostNetwork && hostPort is { } hp && replicas is { } n && hp + n > 65535)
            d.Add(Diagnostic.Error(nameof(Strings.HostModePortRange), hp, n));
        var keepRunning = Bool(input.KeepRunning, "StackKeepRunning", d);
        var appOnHostPort = ValidateAppOnHost(input, mode, hostPort, https.Port, d);
        Bool(input.RunHook, "StackRunHook", d);
        ValidateEnvironment(input.Environment, input.Secrets, d, owned: OwnedVariables);
        var containers = BackingServices.Validate(input, d);
        var projects = StackProjects.Validate(input, d);
        // A StackProject's replicas are balanced by the same nginx, with the same affinity setting.
        if (affinity == Affinity.None)
            foreach (var p in input.Projects.Where(p => projects.GetValueOrDefault(p.Name) is { Replicas: > 1 }))
            {
                if (p.UsesSignalR) d.Add(Diagnostic.Warning(nameof(Strings.SignalRWithoutAffinity), $"StackProject '{p.Name}'", "its Replicas", p.Replicas));
                if (p.UsesInMemorySession) d.Add(Diagnostic.Warning(nameof(Strings.SessionWithoutAffinity), $"StackProject '{p.Name}'", "its Replicas", p.Replicas));
            }
        // A worker, console app or library has nothing for nginx to serve: said at once, before any image work sends the user
        // after a base image (a worker can publish a container, and would fail on the runtime base image instead).
        // A standalone Blazor WebAssembly app is files for the browser: served by an ASP.NET Core project, never by itself.
        if (!input.IsWebProject) d.Add(Diagnostic.Error(input.IsBlazorWebAssembly ? nameof(Strings.BlazorWebAssemblyStandalone) : nameof(Strings.NotWebProject), input.ProjectName));
        // Native AOT and trimming publish for one runtime; ProxyStack publishes for linux-<host architecture> when the project
        // names none (Sdk.targets). One that names another operating system would fail deep in the SDK, uncoded.
        else if (input.RuntimeIdentifier.Trim() is { Length: > 0 } rid && !rid.StartsWith("linux-", StringComparison.Ordinal))
            d.Add(Diagnostic.Error(nameof(Strings.RuntimeIdentifierNotLinux), input.ProjectName, rid, "linux-" + input.HostArchitecture));
        // Native AOT cannot compile across operating systems (the SDK says so only after restoring the compiler).
        else if (input.NativeOrTrimmed == "PublishAot" && input.HostOperatingSystem != "Linux")
            d.Add(Diagnostic.Error(nameof(Strings.NativeAotNeedsLinuxHost), input.ProjectName, input.HostOperatingSystem));
        else if (!input.ContainerSupport) d.Add(Diagnostic.Error(nameof(Strings.ContainerSupportMissing), input.ProjectName));

        if (d.Any(x => x.IsError)) return (null, d);
        // No error: every value above was set (each is null only beside the error that says why).
        return (name is not null && nginx is not null && replicas is { } rs && hostPort is { } hps && appPort is { } aps && https is { Port: { } httpsPort, Redirect: { } redirect, Protocol: { } protocol }
                && readyTimeout is { } rt && lockTimeout is { } lt && proxyReadTimeout is { } prt && maxBody is { } mb && adopt is { } ad && keepRunning is { } kr && appOnHostPort is { } aohp
            ? new StackSettings
            {
                Name = name, Nginx = nginx, Replicas = rs, HostPort = hps, AppPort = aps, HttpsPort = httpsPort, HttpsRedirect = redirect,
                AppProtocol = protocol, SharedKeys = https.SharedKeys, ReadyTimeoutSeconds = rt, LockTimeoutSeconds = lt, ProxyReadTimeoutSeconds = prt,
                MaxRequestBodySize = mb, SessionAffinity = affinity, Adopt = ad, KeepRunning = kr, AppOnHostPort = aohp,
                Containers = containers, Projects = projects,
            }
            : throw new InvalidOperationException("a setting without a value passed validation"), d);
    }

    /// <summary><paramref name="value"/> when it parsed and is <paramref name="ok"/>; otherwise null, and <paramref name="error"/> said.</summary>
    private static T? Checked<T>(T? value, Func<T, bool> ok, List<Diagnostic> d, Func<Diagnostic> error) where T : struct
    {
        if (value is { } v && ok(v)) return v;
        d.Add(error());
        return null;
    }

    /// <summary>A TCP port, 1–65535 (STACK1004 naming <paramref name="property"/> otherwise).</summary>
    private static int? Port(string raw, string property, List<Diagnostic> d) =>
        Checked(ParseInt(raw), p => p is >= 1 and <= 65535, d, () => Diagnostic.Error(nameof(Strings.PortInvalid), property, raw));

    /// <summary>true, false or empty (false); anything else is STACK1012 naming <paramref name="property"/>.</summary>
    private static bool? Bool(string raw, string property, List<Diagnostic> d) =>
        Checked(ParseBool(raw), _ => true, d, () => Diagnostic.Error(nameof(Strings.BooleanInvalid), property, raw));

    /// <summary>
    /// StackAppOnHost and its port: nginx reaches the app on the host through the engine's host gateway, which a proxy on the
    /// stack's own network has (bridge mode only); the port is the app's, so it may be neither of nginx's. The port the app on
    /// the host listens on — StackAppOnHostPort, else StackHostPort + 1 — or 0 when the app runs in containers; null beside
    /// an error.
    /// </summary>
    private static int? ValidateAppOnHost(StackInput input, StackNetworkMode? mode, int? hostPort, int? httpsPort, List<Diagnostic> d)
    {
        if (Bool(input.AppOnHost, "StackAppOnHost", d) is not { } onHost) return null;
        if (!onHost) return 0;
        if (mode is { OwnsNetwork: false }) d.Add(Diagnostic.Error(nameof(Strings.AppOnHostNeedsBridge), input.NetworkMode));
        if (hostPort is null) return null; // STACK1004 said it
        var port = input.AppOnHostPort.Trim().Length > 0 ? ParseInt(input.AppOnHostPort) : hostPort + 1;
        if (port is not (>= 1 and <= 65535))
            d.Add(Diagnostic.Error(nameof(Strings.PortInvalid), "StackAppOnHostPort", input.AppOnHostPort));
        else if (port == hostPort || port == httpsPort)
            d.Add(Diagnostic.Error(nameof(Strings.AppOnHostPortConflict), port));
        else return port;
        return null;
    }

    /// <summary>
    /// StackHttpsPort (0 when empty), StackHttpsRedirect, StackAppProtocol, StackSharedKeys (null when empty) and the certificate
    /// pair (the files themselves are read by ApplyStack). A value is null beside the error that says why.
    /// </summary>
    private static (int? Port, bool? Redirect, string? Protocol, bool? SharedKeys) ValidateHttps(StackInput input, StackNetworkMode? mode, int? hostPort, int? replicas, List<Diagnostic> d)
    {
        var redirect = Bool(input.HttpsRedirect, "StackHttpsRedirect", d);
        var protocol = AppProtocols.Parse(input.AppProtocol);
        if (protocol is null) d.Add(Diagnostic.Error(nameof(Strings.AppProtocolInvalid), input.AppProtocol));
        var sharedKeys = input.SharedKeys.Trim().Length == 0 ? null : Bool(input.SharedKeys, "StackSharedKeys", d);
        if ((input.CertificateFile.Length > 0) != (input.CertificateKeyFile.Length > 0))
            d.Add(Diagnostic.Error(nameof(Strings.CertificatePairIncomplete), input.CertificateFile.Length > 0 ? "StackCertificateKeyFile" : "StackCertificateFile"));
        if (input.HttpsPort.Trim().Length == 0) return (0, redirect, protocol, sharedKeys);
        if (Port(input.HttpsPort, "StackHttpsPort", d) is not { } port) return (null, redirect, protocol, sharedKeys);
        var conflict = port == hostPort;
        if (conflict) d.Add(Diagnostic.Error(nameof(Strings.HttpsPortConflict), port));
        if (mode is { OnHostNetwork: true } && port < 1024) d.Add(Diagnostic.Error(nameof(Strings.HostModePrivilegedPort), port));
        if (mode is { OnHostNetwork: true } && hostPort is { } hp && replicas is { } n && port > hp && port <= hp + n)
            d.Add(Diagnostic.Error(nameof(Strings.HttpsPortConflict), port));
        return (port, redirect, protocol, sharedKeys);
    }

    /// <summary>
    /// StackEnvironment items of the replicas or of one backing container: names a shell can set, none of the
    /// <paramref name="owned"/> ones, and each secret with exactly one source that no plain value of the same name shadows.
    /// </summary>
    public static void ValidateEnvironment(IReadOnlyList<KeyValuePair<string, string>> environment, IReadOnlyList<SecretSource> secrets,
        List<Diagnostic> d, IReadOnlySet<string>? owned = null)
    {
        foreach (var key in environment.Select(e => e.Key).Concat(secrets.Select(s => s.Name)).Distinct(StringComparer.Ordinal))
        {
            if (!IsContainerEnvironmentName(key)) d.Add(Diagnostic.Error(nameof(Strings.EnvironmentInvalid), key));
            else if (owned?.Contains(key) == true) d.Add(Diagnostic.Error(nameof(Strings.EnvironmentOwned), key));
        }
        foreach (var secret in secrets.GroupBy(s => s.Name, StringComparer.Ordinal))
        {
            if (secret.Count() > 1 || secret.Any(s => (s.FromEnvironment.Length > 0) == (s.FromFile.Length > 0)) || environment.Any(e => e.Key == secret.Key))
                d.Add(Diagnostic.Error(nameof(Strings.SecretSourceConflict), secret.Key));
            else if (secret.Single().FromEnvironment is { Length: > 0 } variable && !IsEnvironmentName(variable))
                d.Add(Diagnostic.Error(nameof(Strings.SecretSourceInvalid), secret.Key, variable));
        }
    }

    /// <summary>A variable name a shell can set: letters, digits and '_', not starting with a digit.</summary>
    public static bool IsEnvironmentName(string name) => EnvNamePattern().IsMatch(name);

    /// <summary>
    /// A variable name a container can be given: a shell's, and '.' too, which .NET's configuration keys carry in logging
    /// categories (`Logging__LogLevel__Microsoft.EntityFrameworkCore`); the engine, compose and Kubernetes all take it.
    /// </summary>
    public static bool IsContainerEnvironmentName(string name) => ContainerEnvNamePattern().IsMatch(name);

    /// <summary>Variables ProxyStack sets on every replica itself: a StackEnvironment item of the same name would be overridden.</summary>
    public static readonly IReadOnlySet<string> OwnedVariables = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS",
    };

    /// <summary>
    /// The canonical text of an IP address (what both .NET and Docker's Go parser read the same way) and the parsed address,
    /// or (null, null) when the text is no address at all. An IPv4-mapped IPv6 address canonicalizes to its IPv4 form.
    /// </summary>
    public static (string? Canonical, IPAddress? Parsed) ParseHostAddress(string raw)
    {
        if (raw.Contains('%') || !IPAddress.TryParse(raw, out var address)) return (null, null);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return (address.ToString(), address);
    }

    /// <summary>ContainerUser values that run the app as root: "root", "0", with or without a group.</summary>
    public static bool IsRootUser(string user)
    {
        var name = user.Trim().Split(':')[0];
        return name is "root" or "0";
    }

    /// <summary>Largest StackMaxRequestBodySize: 64 GiB, far beyond any upload a development stack sees.</summary>
    public const long MaxBodySize = 64L * 1024 * 1024 * 1024;

    public static long? ParseLong(string raw) =>
        long.TryParse(raw.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

    public static int? ParseInt(string raw) =>
        int.TryParse(raw.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>A path that may be probed and written into nginx's config (the rule STACK1006 applies to StackHealthPath).</summary>
    public static bool IsValidHealthPath(string path) => HealthPathPattern().IsMatch(path);

    public static bool? ParseBool(string raw) => raw.Trim().ToLowerInvariant() switch
    {
        "" or "false" => false,
        "true" => true,
        _ => null,
    };
}
