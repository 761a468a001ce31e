/**
 * Text from the API made safe to write to a terminal. Much of what the CLI shows was written
 * by someone else: a receiver's response excerpt, an endpoint's description, an error
 * message, a DLQ message body. A control character in it would reach the operator's terminal
 * as a command: `ESC ] 52` writes the clipboard, `ESC [ 1A ESC [ 2K` erases the line above (a
 * forged "delivered"), `CR` overwrites the line it is on, and the C1 forms (U+0080–U+009F,
 * `CSI` is U+009B) do the same on terminals that honour them. Human output drops every such
 * character; `--json` output is the API's JSON unchanged (JSON escapes C0 characters itself).
 * Pure.
 */

/** C0 controls except tab and newline, DEL, and C1 controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The same, with tab and newline too: what may not appear inside one table cell or field. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROLS_AND_BREAKS = /[\u0000-\u001f\u007f-\u009f]/g;
const TAB_OR_NEWLINE = /[\t\n]/g;

/** `text` without control characters; tabs and newlines (the layout of the output) stay. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROLS, '');
}

/**
 * `text` as one line without control characters: tabs and newlines become spaces, every other
 * control character is dropped. For table cells and field values, whose width is measured.
 */
export function terminalSafeLine(text: string): string {
  return text.replace(TAB_OR_NEWLINE, ' ').replace(CONTROLS_AND_BREAKS, '');
}
