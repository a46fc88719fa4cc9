using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ProxyStack.Model;
using ProxyStack.Planning;
using ProxyStack.Proxy;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>HTTPS at the proxy: its properties, the certificate checks made before anything changes, and the generated config.</summary>
public sealed class HttpsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("proxystack-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (StackModel? Model, IReadOnlyList<ProxyStack.Diagnostics.Diagnostic> Diagnostics) Build(StackInput input) => StackModelBuilder.Build(input);

    /// <summary>A self-signed certificate for localhost and its key, PEM, valid from <paramref name="from"/> to <paramref name="to"/>.</summary>
    private (string Cert, string Key) WritePair(string name, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = request.CreateSelfSigned(from ?? DateTimeOffset.Now.AddDays(-1), to ?? DateTimeOffset.Now.AddDays(30));
        var certPath = Path.Combine(_dir, name + ".pem");
        var keyPath = Path.Combine(_dir, name + ".key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    private StackModel Https(string cert, string key) => Builders.Model(2) with { HttpsPort = 8443, CertificateFile = cert, CertificateKeyFile = key };

    [Fact]
    public void StackHttpsPort_must_be_a_free_port_of_its_own_STACK1031_and_the_certificate_pair_complete_STACK1032()
    {
        Assert.Contains(Build(Builders.ValidInput() with { HttpsPort = "8080" }).Diagnostics, d => d.Code == "STACK1031");
        Assert.Contains(Build(Builders.ValidInput() with { HttpsPort = "9002", NetworkMode = "host", HostPort = "9000" }).Diagnostics, d => d.Code == "STACK1031");
        Assert.Contains(Build(Builders.ValidInput() with { HttpsPort = "70000" }).Diagnostics, d => d.Code == "STACK1001" || d.Format().Contains("StackHttpsPort"));
        var half = Build(Builders.ValidInput() with { HttpsPort = "8443", CertificateFile = "/certs/a.pem" }).Diagnostics;
        Assert.Equal("STACK1032", Assert.Single(half).Code);
        Assert.Contains("StackCertificateKeyFile", half[0].Format());
        var model = Build(Builders.ValidInput() with { HttpsPort = "8443", HttpsRedirect = "true" }).Model!;
        Assert.Equal((8443, true), (model.HttpsPort, model.HttpsRedirect));
        Assert.Equal("https://127.0.0.1:8443", model.ServedUrl);
        Assert.Equal(0, Builders.Model().HttpsPort);
    }

    [Fact]
    public void A_missing_mismatched_or_expired_certificate_is_STACK1033_naming_the_file()
    {
        var (cert, key) = WritePair("good");
        var (_, otherKey) = WritePair("other");
        var (oldCert, oldKey) = WritePair("old", DateTimeOffset.Now.AddDays(-30), DateTimeOffset.Now.AddDays(-1));

        var (tls, problem) = TlsFiles.Load(Https(cert, key), _dir);
        Assert.Null(problem);
        Assert.Equal($"(certificate from {cert})", tls!.ToString());
        Assert.DoesNotContain("PRIVATE KEY", tls.ToString());

        foreach (var (c, k, expected) in new[]
        {
            (Path.Combine(_dir, "none.pem"), key, "none.pem' does not exist"),
            (cert, otherKey, "are not a PEM certificate and its private key"),
            (oldCert, oldKey, "expired on"),
        })
        {
            var (none, why) = TlsFiles.Load(Https(c, k), _dir);
            Assert.Null(none);
            Assert.Equal("STACK1033", why!.Code);
            Assert.Contains(expected, why.Format());
        }
    }

    [Fact]
    public void A_development_certificate_that_cannot_be_exported_is_STACK1034()
    {
        var model = Builders.Model(2) with { HttpsPort = 8443 };
        var (tls, problem) = TlsFiles.Load(model, _dir, dotnet: Path.Combine(_dir, "no-such-dotnet"));
        Assert.Null(tls);
        Assert.Equal("STACK1034", problem!.Code);
        Assert.Contains("dotnet dev-certs https", problem.Format());
    }

    [Fact]
    public void The_key_goes_only_into_the_proxy_container_through_its_own_volume_never_into_a_label_or_a_spec_text()
    {
        var (cert, key) = WritePair("good");
        var model = Https(cert, key) with { Tls = TlsFiles.Load(Https(cert, key), _dir).Tls };
        var keyPem = File.ReadAllText(key);
        var spec = ContainerSpecs.Proxy(model, "proxy-image", Builders.NginxId, Reconciler.ProxyHash(model, Builders.NginxId));
        Assert.Equal([NginxConfigWriter.TlsDirectory], spec.Volumes);
        var keyFile = Assert.Single(spec.Files, f => f.Path.EndsWith("/key.pem"));
        Assert.Equal(keyPem, keyFile.Content);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, keyFile.Mode);
        Assert.DoesNotContain("PRIVATE KEY", spec.ToString());
        Assert.DoesNotContain("PRIVATE KEY", string.Join(" ", spec.Labels.Values));
        Assert.Equal([8080, 8443], spec.Publish.Select(p => p.HostPort));
        Assert.Equal("127.0.0.1:8080,127.0.0.1:8443", ContainerSpecs.PublishLabel(model));
        // A new certificate is a new proxy definition; no HTTPS leaves the hash of existing proxies as it was.
        var (cert2, key2) = WritePair("renewed");
        var renewed = model with { Tls = TlsFiles.Load(Https(cert2, key2), _dir).Tls };
        Assert.NotEqual(Reconciler.ProxyHash(model, Builders.NginxId), Reconciler.ProxyHash(renewed, Builders.NginxId));
        // SHA-256 of {"base":"sha256:nginx1","hardening":1,"links":[],"network":"hello-net","publish":"127.0.0.1:8080-\u003E8080","role":"proxy"}:
        // the inputs a proxy had before HTTPS existed, so upgrading ProxyStack replaces no running proxy.
        Assert.Equal("65300f82", Reconciler.ProxyHash(Builders.Model(2), Builders.NginxId)[..8]);
    }

    [Theory]
    [InlineData(0, false, "http://127.0.0.1:8080")]
    [InlineData(8443, true, "https://127.0.0.1:8443")]
    [InlineData(8443, false, "http://127.0.0.1:8080|https://127.0.0.1:8443")]
    public void Every_address_that_serves_the_app_is_named_and_one_that_only_redirects_is_not(int httpsPort, bool redirect, string expected)
    {
        var model = Builders.Model(2) with { HttpsPort = httpsPort, HttpsRedirect = redirect, Projects = [new AppProject { Name = "api", Route = "/api/", Replicas = 1 }] };
        var urls = expected.Split('|');
        // The runner prints a "Now listening on" line for each, as Kestrel does for an app listening on both; StackUp names them all.
        Assert.Equal(urls, model.ServedUrls);
        Assert.Equal(urls[0], model.ServedUrl);
        Assert.Equal($"Stack 'hello': 2 replica(s) behind nginx at {string.Join(" and ", urls)}", model.ListeningLine);
        Assert.Equal($"Stack 'hello': StackProject 'api', 1 replica(s), at {string.Join(" and ", urls.Select(u => u + "/api/"))}", Assert.Single(model.ProjectLines));
    }

    [Theory]
    [InlineData("1.30.6", false, "listen 8443 ssl;\n        http2 on;")]
    [InlineData("1.22.1", false, "listen 8443 ssl http2;")]
    [InlineData("1.30.6", true, "return 308 https://$host:8443$request_uri;")]
    public void The_config_serves_TLS_with_HTTP2_in_the_syntax_of_the_image_nginx_and_redirects_when_asked(string version, bool redirect, string expected)
    {
        var model = Builders.Model(2) with { HttpsPort = 8443, HttpsRedirect = redirect, NginxVersion = version };
        var config = NginxConfigWriter.Write(model);
        Assert.Contains(expected, config);
        Assert.Contains("ssl_certificate /etc/proxystack/tls/cert.pem;", config);
        Assert.Contains("ssl_certificate_key /etc/proxystack/tls/key.pem;", config);
        // Plain HTTP either serves (the proxying server listens on both) or only redirects (a server of its own).
        Assert.Equal(redirect ? 2 : 1, config.Split("listen 8080;").Length - 1 + (redirect ? 1 : 0));
        Assert.DoesNotContain("ssl", NginxConfigWriter.Write(Builders.Model(2)));
    }
}
