using ProxyStack.Model;
using ProxyStack.Planning;

namespace ProxyStack.Tests;

/// <summary>Literal models and observed states for table-driven tests.</summary>
internal static class Builders
{
    public static StackInput ValidInput() => new()
    {
        ProjectName = "HelloStack",
        StackName = "",
        Replicas = "3",
        HostPort = "8080",
        HostAddress = "127.0.0.1",
        AppPort = "8080",
        HealthPath = "/",
        ReadyTimeout = "60",
        NginxImage = "nginx:stable",
        RegistryMirror = "",
        ProbeToken = "0123456789abcdef0123456789abcdef",
        NetworkMode = "bridge",
        KeepRunning = "false",
        LockTimeout = "300",
        MaxRequestBodySize = "30000000",
        ProxyReadTimeout = "3600",
        SessionAffinity = "none",
        Adopt = "false",
        // The plans in most tests are about replicas and the proxy; the key ring's steps have their own tests (KeyRingTests).
        SharedKeys = "false",
        Owner = Owner,
    };

    /// <summary>The checkout that owns the test stacks.</summary>
    public const string Owner = "devbox:/src/hello";

    public static StackModel Model(int replicas = 3, string name = "hello") =>
        StackModelBuilder.Build(ValidInput() with { StackName = name, Replicas = replicas.ToString() }).Model!;

    public const string AppImage = "hello:latest";
    public const string AppImageId = "sha256:app1";
    public const string ProxyImage = "proxystack/hello-proxy:latest";
    public const string NginxId = "sha256:nginx1";

    /// <summary>Plans <paramref name="model"/> against <paramref name="observed"/> with the literal images above.</summary>
    /// <summary>The plan has no errors and reads exactly as <paramref name="expected"/> (one line per step).</summary>
    public static void AssertPlan(string expected, ReconcileResult result)
    {
        Xunit.Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        Xunit.Assert.Equal(expected.ReplaceLineEndings("\n").TrimEnd(), result.Plan.ToString());
    }

    public static ReconcileResult Reconcile(StackModel model, ObservedState observed) =>
        Reconciler.Reconcile(model, observed, AppImage, ProxyImage, ProxyStack.Proxy.NginxConfigWriter.Write(model));

    public static Dictionary<string, string> Images(string appId = AppImageId) => new()
    {
        [AppImage] = appId,
        ["nginx:stable"] = NginxId,
    };

    /// <summary>The observed state of a stack that is up exactly as <paramref name="model"/> wants it.</summary>
    public static ObservedState Running(StackModel model, string config, string appId = AppImageId)
    {
        var containers = new List<ObservedContainer>();
        for (var i = 1; i <= model.Replicas; i++)
            containers.Add(App(model, i, appId));
        containers.Add(Proxy(model));
        return new ObservedState
        {
            Containers = containers,
            Networks = StackNetworking.OwnsNetwork(model) ? [new ObservedNetwork("n1", model.NetworkName, Reconciler.Labels(model, StackLabels.RoleNetwork))] : [],
            ImageIds = Images(),
            ProxyConfigHash = ConfigHash.Of(config),
        };
    }

    public static ObservedContainer App(StackModel model, int replica, string appId = AppImageId, bool running = true)
    {
        var labels = Reconciler.Labels(model, StackLabels.RoleApp);
        labels[StackLabels.Replica] = replica.ToString();
        labels[StackLabels.ConfigHash] = Reconciler.AppHash(model, appId, replica);
        labels[StackLabels.ImageId] = appId;
        labels[StackLabels.NetworkMode] = model.NetworkMode;
        return new ObservedContainer($"{replica:x2}".PadLeft(64, 'a'), model.AppName(replica), labels, running);
    }

    public static ObservedContainer Proxy(StackModel model, bool running = true)
    {
        var labels = Reconciler.Labels(model, StackLabels.RoleProxy);
        labels[StackLabels.ConfigHash] = Reconciler.ProxyHash(model, NginxId);
        labels[StackLabels.Publish] = ContainerSpecs.PublishLabel(model);
        labels[StackLabels.NetworkMode] = model.NetworkMode;
        return new ObservedContainer("p".PadLeft(64, 'b'), model.ProxyName, labels, running);
    }
}
