/**
 * Text from files llem did not necessarily write (a manifest's `config_summary`, a model name, an
 * error message) can hold control characters. Printed to a terminal, an ESC starts an escape
 * sequence that can rewrite the screen; in a report it is invisible noise. `printable` replaces
 * each control character with a visible stand-in and leaves every other character alone:
 *
 *   printable("ok")            → "ok"
 *   printable("a\u001b[2Jb")   → "a␛[2Jb"   (C0 controls → their Unicode "control picture")
 *   printable("tab\there")     → "tab␉here"  (tabs and newlines too: names are one line)
 *   printable("\u0085")        → "\uFFFD"    (C1 controls and DEL have no picture: U+FFFD)
 *
 * It does not escape HTML: that is the job of whoever builds the markup.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => {
    const code = char.charCodeAt(0);
    return code < 0x20 ? String.fromCharCode(0x2400 + code) : "\uFFFD";
  });
}
