using ProxyStack.Model;
using Xunit;

namespace ProxyStack.Tests;

public class UserSecretsTests
{
    [Fact]
    public void Nested_secrets_become_double_underscore_environment_names()
    {
        var env = UserSecrets.ToEnvironment("""
            { "ConnectionStrings": { "Db": "Server=db;Password=x" }, "Api:Key": "k", "Ports": [1, 2], "Flag": true, "Nothing": null }
            """);
        Assert.Equal(
        [
            new("Api__Key", "k"), new("ConnectionStrings__Db", "Server=db;Password=x"), new("Flag", "true"),
            new("Ports__0", "1"), new("Ports__1", "2"),
        ], env);
    }

    [Fact]
    public void Explicit_StackEnvironment_wins_over_a_secret_of_the_same_name()
    {
        // A is set by a StackEnvironment item: its user secret is left out, so the item's value is the one the replicas get.
        var passed = UserSecrets.Unshadowed([new("A", "secret"), new("B", "secret")], ["A"]);
        Assert.Equal([new("B", "secret")], passed);
    }
}
