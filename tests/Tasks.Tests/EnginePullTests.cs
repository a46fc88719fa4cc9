using ProxyStack.Engine;
using ProxyStack.Model;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>Images the engine pulls itself (backing containers', nginx's), and STACK2001 when it cannot.</summary>
public sealed class EnginePullTests
{
    [Theory]
    [InlineData("localhost:5000/library/redis:7", true)]
    [InlineData("127.0.0.1:5000/library/redis:7", true)]
    [InlineData("registry.internal:5000/library/redis:7", false)]
    [InlineData("redis:7", false)]
    [InlineData("localhostx/redis:7", false)]
    public void A_registry_named_by_loopback_is_recognised(string image, bool loopback) =>
        Assert.Equal(loopback, ImageReference.Parse(image)!.OnLoopbackRegistry);

    [Fact]
    public async Task An_image_the_engine_has_is_not_pulled_and_one_no_pull_gives_is_STACK2001_suggesting_a_mirror()
    {
        var engine = new FakeEngine();
        engine.Images["localhost:5000/library/redis:7"] = "sha256:r";
        var pulled = new List<string>();
        Assert.Equal(("sha256:r", null), await EnginePull.EnsureAsync(engine, "localhost:5000/library/redis:7", pulled.Add, CancellationToken.None));
        Assert.Empty(pulled);

        var (id, failure) = await EnginePull.EnsureAsync(engine, "localhost:5000/library/postgres:15", pulled.Add, CancellationToken.None);
        Assert.Null(id);
        Assert.Equal(["localhost:5000/library/postgres:15"], pulled);
        Assert.Equal("STACK2001: The base image 'localhost:5000/library/postgres:15' is not available: the pull reported no image. If this machine "
            + "cannot reach that registry, set StackRegistryMirror to a registry that mirrors it (for example localhost:5000).", failure!.Format());
    }

    [Fact]
    public async Task A_rootless_engine_that_cannot_pull_from_a_loopback_registry_is_told_why_and_what_to_do()
    {
        var engine = new FakeEngine { Rootless = true };
        var (_, failure) = await EnginePull.EnsureAsync(engine, "localhost:5000/library/redis:7", _ => { }, CancellationToken.None);
        Assert.Equal("STACK2001: The base image 'localhost:5000/library/redis:7' is not available: the pull reported no image. The engine runs "
            + "rootless and pulls from inside its own network namespace, where 'localhost:5000' is its own loopback, not this machine's: load the "
            + "image into that engine (docker save localhost:5000/library/redis:7 | docker load, with DOCKER_HOST set to it), or name a registry by "
            + "an address the engine reaches (StackRegistryMirror).", failure!.Format());
        // A registry elsewhere is no loopback matter, rootless or not.
        var (_, elsewhere) = await EnginePull.EnsureAsync(engine, "registry.internal:5000/library/redis:7", _ => { }, CancellationToken.None);
        Assert.EndsWith("set StackRegistryMirror to a registry that mirrors it (for example localhost:5000).", elsewhere!.Format());
    }
}
