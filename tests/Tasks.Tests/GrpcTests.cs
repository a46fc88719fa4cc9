using ProxyStack.Model;
using ProxyStack.Proxy;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>HTTP/2-only apps (the grpc template): detected from appsettings.json, probed over HTTP/2, proxied with grpc_pass.</summary>
public sealed class GrpcTests
{
    private static StackModel Model(string appProtocol = "", bool detected = false, string nginx = "1.30.6") =>
        StackModelBuilder.Build(Builders.ValidInput() with { AppProtocol = appProtocol, DetectedHttp2Only = detected }).Model! with { NginxVersion = nginx };

    [Fact]
    public void The_grpc_templates_appsettings_make_the_app_HTTP2_only()
    {
        Assert.True(AppProtocols.Http2OnlyIn("""
            {
              // comments and trailing commas are allowed in appsettings.json
              "kestrel": { "EndpointDefaults": { "Protocols": "Http2" }, },
            }
            """));
        Assert.False(AppProtocols.Http2OnlyIn("""{ "Kestrel": { "EndpointDefaults": { "Protocols": "Http1AndHttp2" } } }"""));
        Assert.False(AppProtocols.Http2OnlyIn("""{ "Logging": {} }"""));
        Assert.False(AppProtocols.Http2OnlyIn("not json"));
        Assert.False(AppProtocols.Http2OnlyIn(null));

        Assert.Equal("http2", Model(detected: true).AppProtocol);
        Assert.Equal("http1", Model("http1", detected: true).AppProtocol);
        Assert.Equal("http2", Model("HTTP2").AppProtocol);
        Assert.Equal("http1", Model().AppProtocol);
    }

    [Fact]
    public void An_unknown_StackAppProtocol_is_STACK1035()
    {
        var (model, diagnostics) = StackModelBuilder.Build(Builders.ValidInput() with { AppProtocol = "h2c" });
        Assert.Null(model);
        Assert.Equal("STACK1035: StackAppProtocol is 'h2c'. Set it to http1 (the app serves HTTP/1.1) or http2 (its endpoints speak HTTP/2 only, as a gRPC app's do), or leave it empty: ProxyStack reads Kestrel:EndpointDefaults:Protocols from appsettings.json.",
            Assert.Single(diagnostics).Format());
    }

    [Fact]
    public void An_HTTP2_only_app_is_proxied_with_grpc_pass_and_nginx_takes_HTTP2_beside_HTTP1_on_its_port()
    {
        var config = NginxConfigWriter.Write(Model("http2"));
        Assert.Contains("grpc_pass grpc://app;", config);
        Assert.Contains("        http2 on;\n", config);
        Assert.Contains("grpc_read_timeout 3600s;", config);
        Assert.DoesNotContain("proxy_pass", config);
        // nginx before 1.25.1 cannot tell HTTP/2 clients from HTTP/1.x ones on a plain port: it keeps HTTP/1.x there.
        Assert.DoesNotContain("http2 on;", NginxConfigWriter.Write(Model("http2", nginx: "1.22.1")));
        // An HTTP/1.1 app's config does not change.
        Assert.DoesNotContain("grpc", NginxConfigWriter.Write(Model()));
    }

    [Fact]
    public void Replicas_of_an_HTTP2_only_app_are_probed_over_HTTP2_and_the_proxy_over_HTTP1()
    {
        var model = Model("http2");
        Assert.True(model.Health.Http2);
        Assert.False(model.ProxyHealth.Http2);
        Assert.False(Model().Health.Http2);
    }
}
