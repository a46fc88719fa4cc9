using System.Text.RegularExpressions;
using ProxyStack.Diagnostics;

namespace ProxyStack.Model;

/// <summary>A StackContainer item's settings as <see cref="BackingServices.Validate"/> parsed them: Port 0 when none is set or known, HostPort 0 when not published.</summary>
internal sealed record CheckedContainer(ImageReference Image, int Port, int HostPort, IReadOnlyList<(string Name, string Target)> Volumes, ReadyRule ReadyWhen, IReadOnlyList<string> Command,
    IReadOnlyList<KeyValuePair<string, string>> Environment);

/// <summary>
/// StackContainer items: checked all at once (every problem named with its item and metadata), then turned into backing
/// services in the order they start — each after every container it depends on (a topological order; items that do not depend
/// on each other keep their item order and start side by side).
/// </summary>
internal static partial class BackingServices
{
    /// <summary>A DNS label that is also valid inside container and volume names, and not one of the stack's own names.</summary>
    [GeneratedRegex(@"^[a-z][a-z0-9-]{0,30}\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9_.-]{0,30}\z")]
    private static partial Regex VolumeNamePattern();

    /// <summary>Names a StackContainer cannot take: the stack's own containers and network are &lt;stack&gt;-app-N, -proxy, -net.</summary>
    private static readonly string[] Reserved = ["app", "proxy", "net", "keys"];

    /// <summary>
    /// Checks every StackContainer item at once; returns those without a problem by name, their settings parsed (the rest are
    /// named in <paramref name="d"/>).
    /// </summary>
    public static IReadOnlyDictionary<string, CheckedContainer> Validate(StackInput input, List<Diagnostic> d)
    {
        var valid = new Dictionary<string, CheckedContainer>(StringComparer.Ordinal);
        var names = input.Containers.Select(c => c.Name.Trim()).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in input.Containers)
        {
            var name = c.Name.Trim();
            var before = d.Count;
            void Bad(string metadata, string value, string fix) => d.Add(Diagnostic.Error(nameof(Strings.StackContainerInvalid), name, metadata, value, fix));
            if (!NamePattern().IsMatch(name) || Reserved.Contains(name) || name.StartsWith("app-", StringComparison.Ordinal) || name.StartsWith("proxy-", StringComparison.Ordinal))
                Bad("Include", name, "use a lower-case DNS name (letters, digits and '-', at most 31; not app, proxy, net or keys, nor starting with app- or proxy-): dependants connect to it by this name");
            else if (!seen.Add(name)) Bad("Include", name, "give each StackContainer its own name");
            var image = c.Image.Trim().Length == 0 ? null : ImageReference.Parse(c.Image.Trim());
            if (c.Image.Trim().Length == 0) Bad("Image", "", "name the image to run, e.g. Image=\"redis:7\"");
            else if (image is null) Bad("Image", c.Image, "use an image reference such as redis:7 or postgres:15");
            // Port: as set, else the image's well-known port (0: none known).
            var port = c.Port.Trim().Length == 0 ? KnownImages.DefaultPort(c.Image.Trim()) : StackValidator.ParseInt(c.Port) is int p and >= 1 and <= 65535 ? p : (int?)null;
            if (port is null) Bad("Port", c.Port, "use the port the container serves on, 1–65535");
            var hostPort = c.HostPort.Trim().Length == 0 ? 0 : StackValidator.ParseInt(c.HostPort) is int hp and >= 1 and <= 65535 ? hp : (int?)null;
            if (hostPort is null) Bad("HostPort", c.HostPort, "use a free host port, 1–65535, or leave it empty to publish nothing");
            if (c.HostPort.Trim().Length > 0 && port == 0) Bad("HostPort", c.HostPort, "also set Port: the container port to publish");
            var pairs = Pairs(c.Environment);
            if (pairs.Any(p => !StackValidator.IsContainerEnvironmentName(p.Key))) Bad("Environment", c.Environment, "write NAME=value pairs separated by ';'");
            var volumes = new List<(string Name, string Target)>();
            foreach (var v in Split(c.Volume))
                if (ParseVolume(v) is { } volume && !KeyRing.IsRingName(volume.Name) && !FileDatabases.IsVolumeName(volume.Name)) volumes.Add(volume);
                else Bad("Volume", v, "write name:/absolute/path (a named volume, kept across runs, not named keys, keys-…, appdata or appdata-…: those are the key rings' and the app's databases' volumes), pairs separated by ';'");
            var command = CommandWords(c.Command);
            if (command is null)
                Bad("Command", c.Command, "close every quote: words are split at spaces as a shell does, '…' and \"…\" keep spaces and empty words (--save '')");
            var rule = ReadyRule.Parse(c.ReadyWhen);
            if (c.ReadyWhen.Trim().Length > 0 && rule is null)
                Bad("ReadyWhen", c.ReadyWhen, "use tcp, log:<regular expression>, command:<shell command>, http:/path or running");
            else if (rule is { Kind: ReadyRule.Log } && !IsRegex(rule.Argument))
                Bad("ReadyWhen", c.ReadyWhen, "write a valid .NET regular expression after log:");
            else if (rule is { Kind: ReadyRule.Tcp or ReadyRule.Http } && port == 0)
                Bad("ReadyWhen", c.ReadyWhen, "also set Port: the port to check");
            foreach (var dep in Split(c.DependsOn).Where(x => !names.Contains(x)))
                d.Add(Diagnostic.Error(nameof(Strings.DependencyUnknown), name, dep, Known(names)));
            StackValidator.ValidateEnvironment(c.ItemEnvironment, c.Secrets, d);
            if (d.Count == before && image is not null && port is { } ps && hostPort is { } hps && command is not null)
                valid[name] = new CheckedContainer(image, ps, hps, volumes, rule ?? new ReadyRule(ps > 0 ? ReadyRule.Tcp : ReadyRule.Running, ""), command, pairs);
        }
        foreach (var (item, container) in input.UnknownContainerEnvironment)
            d.Add(Diagnostic.Error(nameof(Strings.EnvironmentContainerUnknown), item, container, Known(names)));
        var appKnown = names.Concat(input.Projects.Select(p => p.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var dep in Split(input.DependsOn).Where(x => !appKnown.Contains(x)))
            d.Add(Diagnostic.Error(nameof(Strings.DependencyUnknown), input.ProjectName, dep, Known(appKnown)));
        if (FindCycle(input.Containers, c => c.Name.Trim(), c => c.DependsOn) is { } cycle) d.Add(Diagnostic.Error(nameof(Strings.DependencyCycle), string.Join(" → ", cycle)));
        if ((input.Containers.Count > 0 || input.Projects.Count > 0) && StackNetworkMode.Parse(input.NetworkMode) is { OwnsNetwork: false })
            d.Add(Diagnostic.Error(nameof(Strings.StackContainerNeedsBridge), input.NetworkMode));
        return valid;
    }

    /// <summary>
    /// The services in start order (valid input only), from their settings as <see cref="Validate"/> parsed them, and the names
    /// the app replicas start after.
    /// </summary>
    public static (IReadOnlyList<BackingService> Services, IReadOnlyList<string> AppDependsOn) Build(StackInput input, IReadOnlyDictionary<string, CheckedContainer> valid, string stack)
    {
        var services = new List<BackingService>();
        foreach (var c in StartOrder(input.Containers, c => c.Name.Trim(), c => c.DependsOn))
        {
            var name = c.Name.Trim();
            var (image, port, hostPort, volumes, rule, command, pairs) = valid[name];
            if (input.RegistryMirror.Length > 0) image = image.WithMirror(input.RegistryMirror);
            // StackEnvironment items (Container = this one) win over the Environment metadata.
            var environment = pairs.Concat(c.ItemEnvironment).GroupBy(e => e.Key, StringComparer.Ordinal).Select(g => g.Last())
                .OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
            // A secret is known by name only: the connection string holds a placeholder for its value until ApplyStack reads it.
            var settings = environment.Concat(c.Secrets.Select(x => new KeyValuePair<string, string>(x.Name, BackingService.SecretPlaceholder(x.Name)))).ToList();
            services.Add(new BackingService
            {
                Name = name,
                Image = image.ToString(),
                Port = port,
                HostPort = hostPort,
                Environment = environment,
                Volumes = volumes.Select(v => new ServiceVolume($"{stack}-{v.Name}", v.Target)).ToList(),
                Command = command,
                ReadyWhen = rule,
                DependsOn = Split(c.DependsOn).Distinct(StringComparer.Ordinal).ToList(),
                ConnectionString = KnownImages.ConnectionString(c.Image, name, port, settings, c.ConnectionString.Trim()),
                Secrets = c.Secrets.OrderBy(x => x.Name, StringComparer.Ordinal).ToList(),
            });
        }
        var appDependsOn = input.DependsOn.Trim().Length > 0 ? Split(input.DependsOn).Distinct(StringComparer.Ordinal).ToList() : services.Select(s => s.Name).ToList();
        return (services, appDependsOn);
    }

    private static string Known(IReadOnlyCollection<string> names) => names.Count == 0 ? "(none)" : string.Join(", ", names.Order(StringComparer.Ordinal));

    /// <summary>The backing containers whose connection string a replica set depending on <paramref name="dependsOn"/> gets (ConnectionStrings__&lt;name&gt;).</summary>
    public static IEnumerable<BackingService> WiredTo(IEnumerable<BackingService> services, IReadOnlyCollection<string> dependsOn) =>
        services.Where(s => dependsOn.Contains(s.Name) && s.ConnectionString.Length > 0);

    /// <summary>
    /// A Command's words as a POSIX shell splits them, and as compose splits a command string: at unquoted white space;
    /// '…' keeps everything inside as it is, "…" too except that \" and \\ are a quote and a backslash; outside quotes a
    /// backslash keeps the next character. A quoted empty word stays a word (redis-server --save ''). Null when a quote is not
    /// closed or a backslash ends the text.
    /// </summary>
    public static IReadOnlyList<string>? CommandWords(string text)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        var inWord = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(word.ToString());
                word.Clear();
                inWord = false;
                continue;
            }
            inWord = true;
            switch (c)
            {
                case '\'':
                    var close = text.IndexOf('\'', i + 1);
                    if (close < 0) return null;
                    word.Append(text, i + 1, close - i - 1);
                    i = close;
                    break;
                case '"':
                    for (i++; i < text.Length && text[i] != '"'; i++)
                        word.Append(text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\' ? text[++i] : text[i]);
                    if (i >= text.Length) return null;
                    break;
                case '\\':
                    if (++i >= text.Length) return null;
                    word.Append(text[i]);
                    break;
                default:
                    word.Append(c);
                    break;
            }
        }
        if (inWord) words.Add(word.ToString());
        return words;
    }

    public static IReadOnlyList<string> Split(string list) =>
        list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// "A=1;B=2" as pairs; an entry without '=' keeps it in its name, which the name pattern then refuses. The list comes as
    /// MSBuild escapes it (ComputeStackModel reads it so), so a value's ';' written as %3B splits nothing: each part is
    /// unescaped after the split.
    /// </summary>
    private static List<KeyValuePair<string, string>> Pairs(string list) => Split(list).Select(p =>
        p.IndexOf('=') is var eq and > 0 ? new KeyValuePair<string, string>(Unescape(p[..eq].Trim()), Unescape(p[(eq + 1)..])) : new KeyValuePair<string, string>("=" + p, "")).ToList();

    /// <summary>MSBuild's unescaping: each %XX (two hexadecimal digits) is the character of that code.</summary>
    private static string Unescape(string text) => text.Contains('%', StringComparison.Ordinal)
        ? EscapedCharacter().Replace(text, m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString())
        : text;

    [System.Text.RegularExpressions.GeneratedRegex("%([0-9A-Fa-f]{2})")]
    private static partial System.Text.RegularExpressions.Regex EscapedCharacter();

    private static (string Name, string Target)? ParseVolume(string text)
    {
        var colon = text.IndexOf(':');
        if (colon <= 0) return null;
        var (name, target) = (text[..colon].Trim(), text[(colon + 1)..].Trim());
        return VolumeNamePattern().IsMatch(name) && target.StartsWith('/') && !target.Contains(':') ? (name, target) : null;
    }

    private static bool IsRegex(string pattern)
    {
        try { _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1)); return true; }
        catch (ArgumentException) { return false; }
    }

    /// <summary>A dependency cycle as names ("a → b → a"), or null. Unknown names are reported elsewhere and ignored here.</summary>
    public static List<string>? FindCycle<T>(IReadOnlyList<T> items, Func<T, string> name, Func<T, string> dependsOn)
    {
        var edges = items.GroupBy(name).ToDictionary(g => g.Key, g => Split(dependsOn(g.First())));
        var state = new Dictionary<string, int>();
        var path = new List<string>();
        List<string>? Visit(string n)
        {
            state[n] = 1;
            path.Add(n);
            foreach (var m in edges[n].Where(edges.ContainsKey))
            {
                if (state.GetValueOrDefault(m) == 1) return [.. path.Skip(path.IndexOf(m)), m];
                if (state.GetValueOrDefault(m) == 0 && Visit(m) is { } found) return found;
            }
            path.RemoveAt(path.Count - 1);
            state[n] = 2;
            return null;
        }
        foreach (var n in edges.Keys)
            if (state.GetValueOrDefault(n) == 0 && Visit(n) is { } cycle) return cycle;
        return null;
    }

    /// <summary>Item order, each item moved after the items it depends on (the input has no cycle).</summary>
    public static List<T> StartOrder<T>(IReadOnlyList<T> items, Func<T, string> name, Func<T, string> dependsOn)
    {
        var ordered = new List<T>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        void Place(T item)
        {
            if (!placed.Add(name(item))) return;
            foreach (var dep in Split(dependsOn(item)))
                if (items.FirstOrDefault(x => name(x) == dep) is { } target) Place(target);
            ordered.Add(item);
        }
        foreach (var item in items) Place(item);
        return ordered;
    }
}
