namespace ProxyStack.Model;

/// <summary>
/// The front project's settings as <see cref="StackValidator.Validate"/> parsed and checked them, once: what
/// <see cref="StackModelBuilder"/> builds the model from instead of reading the raw text again.
/// </summary>
internal sealed record StackSettings
{
    /// <summary>The stack's name, normalized (StackName, else the project's name).</summary>
    public required string Name { get; init; }
    public required ImageReference Nginx { get; init; }
    /// <summary>StackReplicas, 1–16.</summary>
    public required int Replicas { get; init; }
    public required int HostPort { get; init; }
    public required int AppPort { get; init; }
    /// <summary>StackHttpsPort, 0 when not set.</summary>
    public required int HttpsPort { get; init; }
    public required bool HttpsRedirect { get; init; }
    /// <summary>StackAppProtocol normalized: http1, http2, or "" when not set.</summary>
    public required string AppProtocol { get; init; }
    /// <summary>StackSharedKeys, null when not set.</summary>
    public required bool? SharedKeys { get; init; }
    public required int ReadyTimeoutSeconds { get; init; }
    public required int LockTimeoutSeconds { get; init; }
    public required int ProxyReadTimeoutSeconds { get; init; }
    public required long MaxRequestBodySize { get; init; }
    /// <summary>StackSessionAffinity normalized (lower case).</summary>
    public required string SessionAffinity { get; init; }
    public required bool Adopt { get; init; }
    public required bool KeepRunning { get; init; }
    /// <summary>Where the app on the host listens (StackAppOnHostPort, else StackHostPort + 1); 0 when the app runs in containers.</summary>
    public required int AppOnHostPort { get; init; }
    /// <summary>The StackContainer items' settings, by name.</summary>
    public required IReadOnlyDictionary<string, CheckedContainer> Containers { get; init; }
    /// <summary>The StackProject items' settings, by name.</summary>
    public required IReadOnlyDictionary<string, CheckedProject> Projects { get; init; }
}
