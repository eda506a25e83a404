/**
 * Terminal-safe text. Registries, layouts and archives decide much of what the CLI prints (tag and repository
 * names, error messages, annotations, labels, media types, paths, header values): a string holding `ESC ] 0;…
 * BEL` would retitle the user's terminal, `ESC [2J` clear it, a newline forge an output line
 * (`Digest: sha256:0000`), a bidi override reorder what is read. Every text the CLI writes goes through
 * {@link sanitize}: the output primitives call it (`line`, `text`, `info` and `display` in `ops/common.ts`, the
 * error line in `main.ts`, the logger, the progress renderer, the `-v` HTTP log), so no command has to remember.
 * `--json` output is never sanitized: JSON escapes what it must and keeps the exact values.
 *
 * Escaped visibly: C0 controls (U+0000–U+001F, ESC and BEL among them) as `\xNN`, DEL and the C1 controls
 * (U+007F–U+009F, which some terminals obey as ESC sequences) as `\xNN`, and as `\uNNNN` the Unicode bidi
 * controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the line and paragraph separators
 * (U+2028, U+2029). A line (`"line"`, the default) escapes line feeds and tabs too; a text of several lines
 * (`"text"`) keeps them. A backslash is not escaped: `\x1b` in the output is either an escaped ESC or the
 * four characters as the source sent them, never a control.
 */

/** Whether a character (its UTF-16 code) is escaped; line feeds and tabs only in a line. */
const isUnsafe = (code: number, line: boolean): boolean =>
  code < 0x20
    ? line || (code !== 0x0a && code !== 0x09)
    : (code >= 0x7f && code <= 0x9f) || code === 0x061c || code === 0x200e || code === 0x200f ||
      code === 0x2028 || code === 0x2029 || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)

const escape = (code: number): string =>
  code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`

/**
 * `text` with its control characters escaped (see the module docs): one line, or with `"text"` several
 * (line feeds and tabs kept).
 *
 * @internal
 */
export const sanitize = (text: string, mode: "line" | "text" = "line"): string => {
  const line = mode === "line"
  let out: string | undefined
  let from = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (!isUnsafe(code, line)) continue
    out = (out ?? "") + text.slice(from, i) + escape(code)
    from = i + 1
  }
  return out === undefined ? text : out + text.slice(from)
}
