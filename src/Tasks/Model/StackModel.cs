using System.Text.Json.Serialization;

namespace ProxyStack.Model;

/// <summary>The validated, normalized description of one stack. Images are references; their ids are observed, not modelled.</summary>
internal sealed record StackModel
{
    public required string Name { get; init; }
    public required int Replicas { get; init; }
    public required string HostAddress { get; init; }
    public required int HostPort { get; init; }
    public required int AppPort { get; init; }
    public required string HealthPath { get; init; }
    public required int ReadyTimeoutSeconds { get; init; }
    /// <summary>The nginx base image, mirror already applied.</summary>
    public required string NginxImage { get; init; }
    public required string NetworkMode { get; init; }
    public required bool KeepRunning { get; init; }
    /// <summary>Sorted by name, so hashing and container specs are deterministic.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; }
    /// <summary>Secret environment: sources only; ApplyStack reads the values (see <see cref="SecretEnvironment"/>).</summary>
    public IReadOnlyList<SecretSource> Secrets { get; init; } = [];

    [JsonIgnore] public string NetworkName => StackNames.Network(Name);
    [JsonIgnore] public string ProxyName => StackNames.Proxy(Name);
    public string AppName(int replica) => StackNames.App(Name, replica);
    [JsonIgnore] public string Url => $"http://{(HostAddress.Contains(':') ? $"[{HostAddress}]" : HostAddress == "0.0.0.0" ? "localhost" : HostAddress)}:{HostPort}";
}
