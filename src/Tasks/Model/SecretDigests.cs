using System.Security.Cryptography;
using System.Text;

namespace ProxyStack.Model;

/// <summary>
/// Secret values must change a replica's config hash (a new secret needs a new container) without the hash letting anyone
/// who can read labels confirm a guessed secret. So they enter the hash only as an HMAC keyed with a random per-stack salt
/// that lives in the project's intermediate folder (mode 0600), never in a label, image or log.
/// </summary>
internal static class SecretDigests
{
    public static string Compute(byte[] salt, IEnumerable<KeyValuePair<string, string>> secrets)
    {
        var text = new StringBuilder();
        foreach (var (k, v) in secrets.OrderBy(s => s.Key, StringComparer.Ordinal)) text.Append(k).Append('\0').Append(v).Append('\0');
        return Convert.ToHexStringLower(HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Where a stack's salt lives: beside its model file, in the project's intermediate folder.</summary>
    public static string SaltPath(string modelFile) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelFile))!, "secret.salt");

    /// <summary>
    /// The value of ProxyStack's probe header that keeps a request out of a local stack's access log (StackModel.ProbeToken):
    /// derived from the stack's salt, so stable from one StackUp to the next and unknown to the app's clients.
    /// </summary>
    public static string ProbeToken(byte[] salt) => Convert.ToHexStringLower(HMACSHA256.HashData(salt, "proxystack probe"u8))[..32];

    /// <summary>The salt in <paramref name="path"/>, created (32 random bytes, owner-only) when missing or unreadable.</summary>
    public static byte[] LoadOrCreateSalt(string path)
    {
        try
        {
            if (File.Exists(path) && File.ReadAllBytes(path) is { Length: 32 } existing) return existing;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        var salt = RandomNumberGenerator.GetBytes(32);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var f = new FileStream(path, options)) f.Write(salt);
        return salt;
    }

    /// <summary>Replaces every secret value in <paramref name="text"/> (log lines copied into an error) with "***".</summary>
    public static string Redact(string text, IEnumerable<string> values)
    {
        foreach (var v in values.Where(v => v.Length >= 3).OrderByDescending(v => v.Length))
            text = text.Replace(v, "***", StringComparison.Ordinal);
        return text;
    }
}
