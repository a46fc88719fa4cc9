namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>The browser the browser tests drive: Debian's chromium (build/provision.sh installs it); nothing downloads one.</summary>
internal static class Browser
{
    public static string Executable =>
        Environment.GetEnvironmentVariable("PROXYSTACK_TEST_CHROMIUM") is { Length: > 0 } path ? path
        : File.Exists("/usr/lib/chromium/chromium") ? "/usr/lib/chromium/chromium"
        : throw new InvalidOperationException("No chromium at /usr/lib/chromium/chromium: run build/provision.sh (or set PROXYSTACK_TEST_CHROMIUM).");
}
