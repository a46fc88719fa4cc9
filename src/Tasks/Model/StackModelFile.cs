using System.Text.Json;
using System.Text.Json.Serialization;

namespace ProxyStack.Model;

/// <summary>
/// The model as a file (obj/…/stack/model.json): ComputeStackModel writes it, the other tasks read it. It is also the stamp
/// that carries non-file inputs into Inputs/Outputs, so it is written atomically and only when its content changes.
/// </summary>
internal static class StackModelFile
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string Serialize(StackModel model) => JsonSerializer.Serialize(model, Options) + "\n";

    public static StackModel Deserialize(string json) =>
        JsonSerializer.Deserialize<StackModel>(json, Options) ?? throw new InvalidDataException("Empty stack model file.");
}
