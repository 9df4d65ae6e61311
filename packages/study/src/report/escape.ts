/**
 * Escaping for markup built as text (html.ts, svg.ts; pure). Everything shown in a report comes
 * from files — a config summary, a model name, an error message — and may hold `<script>` or
 * quotes; through `escapeMarkup` it is shown as the characters it is, in element text and in
 * quoted attribute values alike:
 *
 *   escapeMarkup(`<img src=x onerror="alert(1)">`) → "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
 *
 * Control characters are already made visible when the model is built (`printable`).
 */
const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] as string);
}

/**
 * JSON for a `<script type="application/json">` element: `<` is written as `\u003c`, so no
 * string in the data can close the element (`</script>`) or open a comment; JSON.parse reads it back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
