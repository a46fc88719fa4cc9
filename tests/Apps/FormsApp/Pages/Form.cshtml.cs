using Microsoft.AspNetCore.Mvc.RazorPages;

/// <summary>A form posted with the antiforgery token Razor Pages adds and checks by itself.</summary>
public class FormModel : PageModel
{
    public string Message { get; private set; } = "";

    public void OnGet() { }

    public void OnPost(string name) => Message = $"thanks {name} from {Environment.MachineName}";
}
