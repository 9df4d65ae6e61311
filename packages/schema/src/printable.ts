/**
 * Text from configs, manifests and results, made safe to print on a terminal: control characters
 * (C0, DEL, C1 — an ESC sequence in a model name would otherwise recolour, move or clear the
 * screen) are shown escaped, as JavaScript writes them. Names and values are data, not
 * instructions to the terminal.
 *
 *   printable("m\u001b[2Jx")        → "m\\x1b[2Jx"
 *   printable("a\nb")               → "a\\nb"        (one field stays one line)
 *   printableMessage("a\nb\u0007")  → "a\nb\\x07"    (a message keeps its own line breaks)
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what is being escaped
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what is being escaped
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

function escaped(char: string): string {
  if (char === "\n") return "\\n";
  if (char === "\r") return "\\r";
  if (char === "\t") return "\\t";
  return `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

/** One field (a config summary, a path, an error type): every control character escaped. */
export function printable(text: string): string {
  return text.replace(CONTROL, escaped);
}

/** A message of several lines: control characters escaped, line breaks kept. */
export function printableMessage(text: string): string {
  return text.replace(CONTROL_BUT_NEWLINE, escaped);
}
