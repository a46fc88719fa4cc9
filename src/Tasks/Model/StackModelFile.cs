using System.Text.Json;
using System.Text.Json.Serialization;

namespace ProxyStack.Model;

/// <summary>
/// The model as a file (obj/…/stack/model.json): ComputeStackModel writes it, the other tasks read it. It is also the stamp
/// that carries non-file inputs into Inputs/Outputs, so it is written atomically and only when its content changes.
/// </summary>
internal static class StackModelFile
{
    public static string Serialize(StackModel model) => JsonSerializer.Serialize(model, StackModelJson.Default.StackModel) + "\n";

    public static StackModel Deserialize(string json) =>
        JsonSerializer.Deserialize(json, StackModelJson.Default.StackModel) ?? throw new InvalidDataException("Empty stack model file.");
}

/// <summary>
/// The model's JSON, generated at compile time: every task and the runner read the model in a process of their own, where a
/// reflection-based serializer would first build its converters (measured in docs/benchmarks.md).
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(StackModel))]
internal sealed partial class StackModelJson : JsonSerializerContext;
