using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ProxyStack.Diagnostics;

namespace ProxyStack.Model;

/// <summary>
/// Reads the certificate and key the proxy serves HTTPS with, before anything in the engine changes: the user's
/// StackCertificateFile/StackCertificateKeyFile, or the ASP.NET Core development certificate exported with
/// <c>dotnet dev-certs https --export-path … --format Pem --no-password</c> into the stack's intermediate folder (files 0600,
/// folder 0700; exported again when missing or expired). Missing, unreadable, mismatched or expired files are STACK1033.
/// </summary>
internal static class TlsFiles
{
    public const string DevCertificate = "the ASP.NET Core development certificate";

    /// <param name="model">The stack; nothing is read when it has no HttpsPort.</param>
    /// <param name="stackDirectory">The stack's intermediate folder (obj/…/stack), where the development certificate is exported.</param>
    /// <param name="dotnet">The dotnet executable for dev-certs (tests pass a missing one); null: DOTNET_HOST_PATH, else dotnet.</param>
    public static (TlsMaterial? Tls, Diagnostic? Problem) Load(StackModel model, string stackDirectory, string? dotnet = null)
    {
        if (model.HttpsPort == 0) return (null, null);
        if (model.CertificateFile.Length > 0) return Read(model.CertificateFile, model.CertificateKeyFile, model.CertificateFile);
        // The development certificate: the exported copy while it is usable, else exported (again) and then read.
        var folder = Path.Combine(stackDirectory, "tls");
        string certificate = Path.Combine(folder, "devcert.pem"), key = Path.Combine(folder, "devcert.key");
        var exported = Read(certificate, key, DevCertificate);
        if (exported.Tls is not null) return exported;
        return Export(folder, certificate, dotnet) is { } why
            ? (null, Diagnostic.Error(nameof(Strings.DevCertificateUnavailable), why))
            : Read(certificate, key, DevCertificate);
    }

    /// <summary>Reads and checks a PEM pair: both files readable, the key the certificate's, the certificate not expired.</summary>
    private static (TlsMaterial? Tls, Diagnostic? Problem) Read(string certificate, string key, string source)
    {
        var pem = new List<string>();
        foreach (var (file, property) in new[] { (certificate, "StackCertificateFile"), (key, "StackCertificateKeyFile") })
        {
            if (!File.Exists(file))
                return (null, Unusable($"{property} '{file}' does not exist", "Point it at a PEM file (relative to the project)."));
            try { pem.Add(File.ReadAllText(file)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, Unusable($"{property} '{file}' cannot be read ({e.Message.TrimEnd('.')})", "Make it readable by the user who builds."));
            }
        }
        var (certificatePem, keyPem) = (pem[0], pem[1]);
        try
        {
            using var pair = X509Certificate2.CreateFromPem(certificatePem, keyPem);
            if (pair.NotAfter < DateTime.Now)
                return (null, Unusable($"the certificate '{certificate}' expired on {pair.NotAfter:yyyy-MM-dd}", source == DevCertificate
                    ? "Run 'dotnet dev-certs https --clean' and 'dotnet dev-certs https', then build again." : "Renew it."));
        }
        catch (CryptographicException e)
        {
            return (null, Unusable($"'{certificate}' and '{key}' are not a PEM certificate and its private key ({e.Message.TrimEnd('.')})",
                "Give the certificate in StackCertificateFile and the key that belongs to it in StackCertificateKeyFile, both PEM, the key unencrypted."));
        }
        return (new TlsMaterial(certificatePem, keyPem, source), null);
    }

    private static Diagnostic Unusable(string what, string todo) => Diagnostic.Error(nameof(Strings.CertificateUnusable), what, todo);

    /// <summary>Exports the development certificate (creating it when the user has none yet); null, or what went wrong.</summary>
    private static string? Export(string folder, string certificate, string? dotnet)
    {
        Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var psi = new ProcessStartInfo(dotnet ?? (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "dev-certs", "https", "--export-path", certificate, "--format", "Pem", "--no-password" }) psi.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(psi)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                return "dotnet dev-certs did not finish within 60 s";
            }
            if (process.ExitCode != 0) return $"dotnet dev-certs exited with code {process.ExitCode}: {(output.Result + error.Result).Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e) { return "dotnet could not be started: " + e.Message; }
        if (!OperatingSystem.IsWindows())
            foreach (var file in Directory.GetFiles(folder)) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return null;
    }
}
