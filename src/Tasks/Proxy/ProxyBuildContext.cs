using System.Formats.Tar;
using System.Text;

namespace ProxyStack.Proxy;

/// <summary>The proxy image's build context: a two-line Dockerfile over the nginx base and the generated nginx.conf.</summary>
internal static class ProxyBuildContext
{
    /// <summary>
    /// nginx runs as an unprivileged user on a read-only root: the command writes the resolver line for the engine's DNS and
    /// copies the baked config to the tmpfs where a reload can replace it, and names it explicitly, so the base image's own
    /// nginx.conf plays no part. (Shell form: the engine runs it with /bin/sh -c; exec leaves nginx as the container's process.)
    /// </summary>
    public static string Dockerfile(string baseImage)
    {
        var live = NginxConfigWriter.ConfigPath;
        var baked = NginxConfigWriter.BakedConfigPath;
        return $"""
            FROM {baseImage}
            COPY nginx.conf {baked}
            USER {NginxConfigWriter.User}
            CMD {NginxConfigWriter.WriteResolverScript} && cp {baked} {live} && exec nginx -c {live} -g 'daemon off;'

            """;
    }

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
