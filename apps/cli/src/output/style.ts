/** Colours and terminal control, only where they belong: a TTY, no NO_COLOR, not TERM=dumb. */

export interface Style {
  readonly color: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

export function isInteractive(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && process.env.TERM !== "dumb";
}

export function styleFor(stream: NodeJS.WriteStream): Style {
  const color =
    isInteractive(stream) && !("NO_COLOR" in process.env && process.env.NO_COLOR !== "");
  const wrap = (open: number, close: number) => (text: string) =>
    color ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    color,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
  };
}
