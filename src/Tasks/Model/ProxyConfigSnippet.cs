namespace ProxyStack.Model;

/// <summary>
/// A StackProxyConfig item: nginx directives from a file of the project, included in the generated config's server block
/// (default) or http block. The content is part of the model, so a change of it regenerates the config and reloads nginx in
/// place. Path is as the user wrote it, for messages.
/// </summary>
internal sealed record ProxyConfigSnippet(string Path, string Block, string Content)
{
    public const string Server = "server";
    public const string Http = "http";
    public static readonly string[] Blocks = [Server, Http];
}
