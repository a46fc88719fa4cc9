namespace ProxyStack.IntegrationTests.Infrastructure;

/// <summary>The browser the browser tests drive: Debian's chromium (build/provision.sh installs it); nothing downloads one.</summary>
internal static class Browser
{
    public static string Executable =>
        Environment.GetEnvironmentVariable("PROXYSTACK_TEST_CHROMIUM") is { Length: > 0 } path ? path
        : File.Exists("/usr/lib/chromium/chromium") ? "/usr/lib/chromium/chromium"
        : throw new InvalidOperationException("No chromium at /usr/lib/chromium/chromium: run build/provision.sh (or set PROXYSTACK_TEST_CHROMIUM).");

    /// <summary>
    /// Headless chromium for a test: no sandbox (root in CI has no user namespace for one), and no name resolves but
    /// 127.0.0.1, so the browser asks nothing of any other host.
    /// </summary>
    public static Task<Microsoft.Playwright.IBrowser> LaunchAsync(Microsoft.Playwright.IPlaywright playwright) => playwright.Chromium.LaunchAsync(new()
    {
        ExecutablePath = Executable, Headless = true,
        Args = ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--disable-background-networking"],
    });
}
