// A small parser of ANSI SGR escape sequences (ESC [ ... m) in step output: each line becomes segments
// of plain text with the CSS classes of its style (colours as classes, never inline styles), and every
// other escape sequence is dropped. The style carries over from one line to the next, as in a terminal.

const BASIC = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];
// ESC [ params final-byte (CSI), or ESC ] ... BEL/ST (OSC: titles, hyperlinks), or a lone ESC + char.
const ESCAPE = /\x1b(?:\[([0-9;:?]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_]?)/g;

/** The empty style: no colour, no attribute. */
export function plainStyle() {
  return { fg: null, bg: null, bold: false, faint: false, italic: false, underline: false, inverse: false, strike: false };
}

/** The class colour of an 8-bit palette index: 0-15 are the named colours; the 6×6×6 cube and the
 * grey ramp (16-255) are kept as their nearest named colour, so the stylesheet stays small. */
function palette(n) {
  if (n < 8) return BASIC[n];
  if (n < 16) return `bright-${BASIC[n - 8]}`;
  if (n >= 232) return n >= 244 ? "white" : "bright-black";
  const [r, g, b] = [Math.floor((n - 16) / 36), Math.floor((n - 16) / 6) % 6, (n - 16) % 6];
  const named = BASIC[(r > 2 ? 1 : 0) + 2 * (g > 2 ? 1 : 0) + 4 * (b > 2 ? 1 : 0)];
  return Math.max(r, g, b) === 5 ? `bright-${named}` : named;
}

/** Apply the SGR parameters `codes` (numbers) to `style`, in place. */
function apply(style, codes) {
  for (let i = 0; i < codes.length; i += 1) {
    const code = codes[i];
    if (code === 0) Object.assign(style, plainStyle());
    else if (code === 1) style.bold = true;
    else if (code === 2) style.faint = true;
    else if (code === 3) style.italic = true;
    else if (code === 4) style.underline = true;
    else if (code === 7) style.inverse = true;
    else if (code === 9) style.strike = true;
    else if (code === 22) { style.bold = false; style.faint = false; }
    else if (code === 23) style.italic = false;
    else if (code === 24) style.underline = false;
    else if (code === 27) style.inverse = false;
    else if (code === 29) style.strike = false;
    else if (code >= 30 && code <= 37) style.fg = BASIC[code - 30];
    else if (code === 39) style.fg = null;
    else if (code >= 40 && code <= 47) style.bg = BASIC[code - 40];
    else if (code === 49) style.bg = null;
    else if (code >= 90 && code <= 97) style.fg = `bright-${BASIC[code - 90]}`;
    else if (code >= 100 && code <= 107) style.bg = `bright-${BASIC[code - 100]}`;
    else if (code === 38 || code === 48) {
      // 38;5;N (palette) or 38;2;R;G;B (true colour: kept as the nearest named colour's class)
      const target = code === 38 ? "fg" : "bg";
      if (codes[i + 1] === 5 && codes[i + 2] !== undefined) {
        style[target] = palette(codes[i + 2]);
        i += 2;
      } else if (codes[i + 1] === 2 && codes[i + 4] !== undefined) {
        const [r, g, b] = codes.slice(i + 2, i + 5).map((v) => (v > 127 ? 1 : 0));
        style[target] = BASIC[r + 2 * g + 4 * b];
        i += 4;
      }
    }
  }
}

/** The CSS classes of a style ("ansi-fg-red ansi-bold" ...); "" for the plain style. */
export function classesOf(style) {
  const out = [];
  const fg = style.inverse ? style.bg || "inverse-fg" : style.fg;
  const bg = style.inverse ? style.fg || "inverse-bg" : style.bg;
  if (fg) out.push(`ansi-fg-${fg}`);
  if (bg) out.push(`ansi-bg-${bg}`);
  for (const name of ["bold", "faint", "italic", "underline", "strike"]) if (style[name]) out.push(`ansi-${name}`);
  return out.join(" ");
}

/** Split one line into [{text, classes}] with `style` (mutated: what the line leaves in force). */
export function parseLine(line, style) {
  const segments = [];
  let last = 0;
  const push = (text) => {
    if (!text) return;
    const classes = classesOf(style);
    const previous = segments[segments.length - 1];
    if (previous && previous.classes === classes) previous.text += text;
    else segments.push({ text, classes });
  };
  ESCAPE.lastIndex = 0;
  for (let found = ESCAPE.exec(line); found; found = ESCAPE.exec(line)) {
    push(line.slice(last, found.index));
    last = ESCAPE.lastIndex;
    if (found[2] === "m") {
      const params = found[1] === "" ? [0] : found[1].split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
      apply(style, params);
    }
  }
  push(line.slice(last).replace(/\r/g, ""));
  return segments;
}

/** The text of a line without its escape sequences (for search and download). */
export function stripAnsi(line) {
  return line.replace(ESCAPE, "").replace(/\r/g, "");
}
