using System.Formats.Tar;
using System.Text;

namespace ProxyStack.Proxy;

/// <summary>The proxy image's build context: a two-line Dockerfile over the nginx base and the generated nginx.conf.</summary>
internal static class ProxyBuildContext
{
    /// <summary>
    /// nginx runs as an unprivileged user on a read-only root: the command writes the resolver line for the engine's DNS and
    /// copies the baked config to the tmpfs where a reload can replace it, holds nginx where the container asks for it
    /// (<see cref="HoldScript"/>), and names the config explicitly, so the base image's own nginx.conf plays no part.
    /// (Shell form: the engine runs it with /bin/sh -c; exec leaves nginx as the container's process.)
    /// </summary>
    public static string Dockerfile(string baseImage)
    {
        var live = NginxConfigWriter.ConfigPath;
        var baked = NginxConfigWriter.BakedConfigPath;
        var hold = "{ " + HoldScript + " }";
        return $"""
            FROM {baseImage}
            COPY nginx.conf {baked}
            USER {NginxConfigWriter.User}
            CMD {NginxConfigWriter.WriteResolverScript} && cp {baked} {live} && {hold} && exec nginx -c {live} -g 'daemon off;'

            """;
    }

    /// <summary>The names <see cref="HoldScript"/> waits for, space-separated (set at the proxy's creation, see Planning.Reconciler).</summary>
    public const string HoldForVariable = "PROXYSTACK_HOLD_FOR";
    /// <summary>Until when, in seconds since 1970 (UTC), <see cref="HoldScript"/> may wait: a later start (the engine restarted) does not.</summary>
    public const string HoldUntilVariable = "PROXYSTACK_HOLD_UNTIL";
    /// <summary>What <see cref="HoldScript"/> prints, to the proxy's log, when every name answered before nginx started.</summary>
    public const string HeldMark = "proxystack: every slot name resolved before nginx started";

    /// <summary>
    /// The resolver options, as a shell assignment prefixed to a command, under which getent asks the engine's DNS once and
    /// waits at most a second (the default is 5 s and a retry).
    /// </summary>
    internal const string AskOnce = "RES_OPTIONS='timeout:1 attempts:1'";

    /// <summary>
    /// POSIX sh, run before nginx starts: where the container was given <see cref="HoldForVariable"/>, waits until the
    /// engine's DNS answers every name in it, asking 20 times a second until <see cref="HoldUntilVariable"/>, and prints
    /// <see cref="HeldMark"/> when it did. A fresh proxy is started while its replicas boot; held so, nginx's first lookups
    /// find every replica in its slot, and the reload that would make it look again is spared. Each round gives up after
    /// 0.2 s: a name not there yet is one Docker's DNS passes on to the host's servers, and about 1 in 70 such lookups took
    /// the resolver's whole second here, which held nginx up to a second past the last join (2 of 7 bring-ups of 16
    /// replicas) where a round takes 3–5 ms. Without the variables (every other start), without getent or timeout, or once
    /// the time has passed, nginx starts at once. Always succeeds.
    /// </summary>
    public static string HoldScript { get; } =
        $"if [ -n \"${{{HoldForVariable}:-}}\" ] && command -v getent > /dev/null && command -v timeout > /dev/null; then "
        + $"i=$(( (${{{HoldUntilVariable}:-0}} - $(date +%s)) * 20 )); "
        + $"while [ $i -gt 0 ]; do if {AskOnce} timeout 0.2 getent ahostsv4 ${HoldForVariable} > /dev/null; then echo '{HeldMark}'; break; fi; "
        + "i=$((i-1)); sleep 0.05; done; fi; true;";

    /// <summary>A tar stream holding the Dockerfile and nginx.conf, as the engine's build endpoint expects.</summary>
    public static MemoryStream CreateTar(string dockerfile, string nginxConf)
    {
        var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            Add(tar, "Dockerfile", dockerfile);
            Add(tar, "nginx.conf", nginxConf);
        }
        ms.Position = 0;
        return ms;
    }

    /// <summary>A tar stream with one file, for copying a file into a container.</summary>
    public static MemoryStream CreateSingleFileTar(string name, string content)
    {
        var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true)) Add(tar, name, content);
        ms.Position = 0;
        return ms;
    }

    /// <summary>A tar stream of files of one folder by name, each with its mode, for extraction into that folder.</summary>
    public static MemoryStream CreateFilesTar(IEnumerable<Planning.ContainerFile> files)
    {
        var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var file in files) Add(tar, file.Path[(file.Path.LastIndexOf('/') + 1)..], file.Content, file.Mode, file.Owner);
        ms.Position = 0;
        return ms;
    }

    /// <summary>A tar of one directory entry: extracted over a mount point, it sets the mounted volume's owner and mode.</summary>
    public static MemoryStream CreateDirectoryTar(string name, int uid, int gid, UnixFileMode mode)
    {
        var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode, Uid = uid, Gid = gid, ModificationTime = DateTimeOffset.UtcNow });
        ms.Position = 0;
        return ms;
    }

    /// <summary>A tar of one file with its owner and mode (a volume's seed, see Planning.VolumeSeed).</summary>
    public static MemoryStream CreateFileTar(string name, byte[] data, int uid, int gid, UnixFileMode mode)
    {
        var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = mode, Uid = uid, Gid = gid, ModificationTime = DateTimeOffset.UtcNow });
        ms.Position = 0;
        return ms;
    }

    private static void Add(TarWriter tar, string name, string content,
        UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, int owner = 0)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
            Mode = mode,
            Uid = owner,
            Gid = owner,
            ModificationTime = DateTimeOffset.UnixEpoch,
        };
        tar.WriteEntry(entry);
    }
}
