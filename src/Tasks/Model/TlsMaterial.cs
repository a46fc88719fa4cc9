namespace ProxyStack.Model;

/// <summary>
/// A certificate and its private key, PEM. Held in memory only, on its way into the proxy container; <see cref="ToString"/>
/// never shows the key, so a logged model or container spec cannot leak it.
/// </summary>
internal sealed class TlsMaterial(string certificatePem, string keyPem, string source)
{
    public string CertificatePem { get; } = certificatePem;
    public string KeyPem { get; } = keyPem;
    /// <summary>Where it came from, for messages: a file path, or "the ASP.NET Core development certificate".</summary>
    public string Source { get; } = source;
    /// <summary>SHA-256 of the certificate: what the proxy's definition hash takes (a new certificate replaces the proxy).</summary>
    public string CertificateDigest => Planning.ConfigHash.Of(CertificatePem);

    public override string ToString() => $"(certificate from {Source})";
}
