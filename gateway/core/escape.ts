// Escapers for agent-controlled text (an Airlock-Intent header, a body preview, a URL, a policy summary that quotes
// them) shown to a person: each medium has its own syntax an agent could use to change what an approver sees.
//  - terminal: escape sequences (CSI, OSC, 8-bit C1) can move the cursor, erase lines or retitle the window, and
//    Unicode bidirectional controls reorder what is displayed ("Trojan Source", CVE-2021-42574);
//  - Slack mrkdwn: `<!channel>` pings everyone, `<https://evil|Stripe dashboard>` disguises a link, and a ``` in a
//    body preview closes the code block so the rest is formatted as the agent likes;
//  - HTML: markup. (hono's JSX escapes on its own; htmlText is for strings built by hand.)
// Each function returns text that displays as the original characters, made visible, never as their effect.

/** C0 and C1 controls and DEL; \t and \n are kept by terminalText (they only move within the text). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g
/** Bidirectional formatting controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069). */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

const visible = (c: string) => {
  const n = c.codePointAt(0)!
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`
}

/**
 * Text safe to print on a terminal: every escape sequence, control character and bidi control is shown as a visible
 * escape (`\x1b[2J`, `\u202e`) instead of acting. `multiline: false` (table cells) also shows \n, \r and \t.
 */
export function terminalText(s: string, opts: { multiline?: boolean } = {}): string {
  const keep = opts.multiline === false ? '' : '\n\t'
  // Every sequence starts with ESC (0x1b) or an 8-bit C1 introducer (0x9b CSI, 0x9d OSC): once those are shown as
  // text, what followed them is plain printable characters.
  return s.replace(CONTROL, (c) => (keep.includes(c) ? c : visible(c))).replace(BIDI, visible)
}

/**
 * Text for a Slack mrkdwn field: &, < and > escaped as Slack requires, which leaves no `<!channel>`, `<!here>`,
 * `<@U…>` mention or `<url|label>` link for the agent to form; bidi controls made visible.
 */
export function slackText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(BIDI, visible)
}

/**
 * Text for inside a Slack code span or block: slackText, and backticks replaced by U+02CB (ˋ, which looks alike) so
 * the text cannot close the code and format what follows.
 */
export function slackCode(s: string): string {
  return slackText(s).replace(/`/g, '\u02cb')
}

/** Text for HTML element content or a quoted attribute value. */
export function htmlText(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}
