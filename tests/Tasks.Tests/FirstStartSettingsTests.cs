using ProxyStack.Model;
using Xunit;

namespace ProxyStack.Tests;

/// <summary>A database's first-start settings changed while its volume is kept: STACK1062, once, and never a false alarm.</summary>
public sealed class FirstStartSettingsTests
{
    private static readonly byte[] Salt = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];

    private static StackModel Model(string environment, string volume = "db-data:/var/lib/postgresql/data", string image = "postgres:15") =>
        StackModelBuilder.Build(Builders.ValidInput() with
        {
            StackName = "hello",
            Containers = [new ServiceInput("db") { Image = image, Environment = environment, Volume = volume }, new ServiceInput("cache") { Image = "redis:7", Volume = "cache-data:/data" }],
        }).Model!;

    private static readonly HashSet<string> Kept = ["hello-db-data"];

    [Fact]
    public void A_changed_password_with_the_volume_kept_is_STACK1062_naming_the_setting_and_the_volume()
    {
        var before = FirstStartSettings.Digests(Model("POSTGRES_PASSWORD=one;POSTGRES_DB=shop"), Salt);
        var model = Model("POSTGRES_PASSWORD=two;POSTGRES_DB=shop");
        var warning = Assert.Single(FirstStartSettings.Changed(model, before, FirstStartSettings.Digests(model, Salt), Kept));
        Assert.False(warning.IsError);
        Assert.Equal("STACK1062: StackContainer 'db': POSTGRES_PASSWORD changed since the last StackUp, but its volume hello-db-data already holds its data, and its image reads that only when it initializes an empty volume: the server keeps the old setting, while the connection string its dependants get has the new one. Set it back; or change it inside the server too (this is said once); or remove the volume to start afresh: dotnet build -t:StackDown -p:StackRemoveVolumes=true.",
            warning.Format());
        // A setting first set counts as changed too (the image made the database without it).
        var user = Model("POSTGRES_PASSWORD=one;POSTGRES_DB=shop;POSTGRES_USER=shop");
        Assert.Contains("POSTGRES_USER changed", Assert.Single(FirstStartSettings.Changed(user, before, FirstStartSettings.Digests(user, Salt), Kept)).Format());
    }

    [Fact]
    public void Nothing_is_said_when_nothing_changed_the_volume_is_new_the_stamp_is_another_salts_or_there_is_none()
    {
        var model = Model("POSTGRES_PASSWORD=one");
        var digests = FirstStartSettings.Digests(model, Salt);
        Assert.Empty(FirstStartSettings.Changed(model, digests, FirstStartSettings.Digests(Model("POSTGRES_PASSWORD=one"), Salt), Kept));
        var changed = Model("POSTGRES_PASSWORD=two");
        // The volume was removed (StackDown -p:StackRemoveVolumes=true): the image initializes the new one with the new setting.
        Assert.Empty(FirstStartSettings.Changed(changed, digests, FirstStartSettings.Digests(changed, Salt), new HashSet<string>()));
        // The intermediate folder was cleaned, so the salt is new: the old stamp cannot be compared, and says nothing.
        var otherSalt = FirstStartSettings.Digests(model, [.. Enumerable.Repeat((byte)7, 32)]);
        Assert.Empty(FirstStartSettings.Changed(changed, otherSalt, FirstStartSettings.Digests(changed, Salt), Kept));
        Assert.Empty(FirstStartSettings.Changed(changed, new Dictionary<string, Dictionary<string, string>>(), FirstStartSettings.Digests(changed, Salt), Kept));
    }

    [Fact]
    public void Only_known_images_with_a_volume_are_kept_and_as_keyed_digests_alone()
    {
        var model = Model("POSTGRES_PASSWORD=hunter22");
        Assert.True(FirstStartSettings.Applies(model));
        var digests = FirstStartSettings.Digests(model, Salt);
        // Redis reads its settings on every start: nothing to keep. The salt's own digest under "".
        Assert.Equal(["", "db"], digests.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["POSTGRES_DB", "POSTGRES_PASSWORD", "POSTGRES_USER"], digests["db"].Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(digests.Values.SelectMany(d => d.Values), v => v.Contains("hunter22", StringComparison.Ordinal));
        Assert.False(FirstStartSettings.Applies(Model("POSTGRES_PASSWORD=one", volume: "")));
        Assert.False(FirstStartSettings.Applies(Model("A=b", image: "nginx:1.27")));

        var file = Path.Combine(Path.GetTempPath(), $"first-start-{Guid.NewGuid():N}.json");
        try
        {
            FirstStartSettings.Save(file, digests);
            Assert.Equal(digests["db"], FirstStartSettings.Load(file)["db"]);
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            File.WriteAllText(file, "{ not json");
            Assert.Empty(FirstStartSettings.Load(file));
        }
        finally { File.Delete(file); }
    }
}
