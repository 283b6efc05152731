// Regression for issue 10 item 8: agent-controlled text cannot act on the medium it is shown in.
import { describe, expect, it } from 'vitest'
import { htmlText, slackCode, slackText, terminalText } from '../../gateway/core/escape.ts'

describe('terminalText neutralises escape sequences and controls', () => {
  it.each([
    ['CSI clear screen', '\u001b[2J\u001b[Happroved', '\\x1b[2J\\x1b[Happroved'],
    ['OSC window title with BEL', '\u001b]0;pwned\u0007ok', '\\x1b]0;pwned\\x07ok'],
    [
      'OSC 8 hyperlink with ST',
      '\u001b]8;;https://evil\u001b\\click\u001b]8;;\u001b\\',
      '\\x1b]8;;https://evil\\x1b\\click\\x1b]8;;\\x1b\\',
    ],
    ['8-bit C1 CSI', '\u009b2Jx', '\\x9b2Jx'],
    ['carriage return overwriting a line', 'deny\rallow', 'deny\\x0dallow'],
    ['backspace', 'ab\bc', 'ab\\x08c'],
    ['NUL and DEL', 'a\u0000b\u007f', 'a\\x00b\\x7f'],
    ['bidi override (Trojan Source)', 'pay \u202etnuocca\u202c', 'pay \\u202etnuocca\\u202c'],
    ['plain text is unchanged', 'Refund $12 on ch_123 — ok ✓', 'Refund $12 on ch_123 — ok ✓'],
  ])('%s', (_name, input, expected) => {
    expect(terminalText(input)).toBe(expected)
  })

  it('keeps newlines and tabs in multi-line text, shows them in a single-line cell', () => {
    expect(terminalText('a\n\tb')).toBe('a\n\tb')
    expect(terminalText('a\n\tb', { multiline: false })).toBe('a\\x0a\\x09b')
  })
})

describe('slackText leaves no mention, link or markup for the agent to form', () => {
  it.each([
    ['channel mention', 'hi <!channel>', 'hi &lt;!channel&gt;'],
    ['here mention', '<!here|here> now', '&lt;!here|here&gt; now'],
    ['user mention', '<@U012AB3CD>', '&lt;@U012AB3CD&gt;'],
    ['disguised link', '<https://evil.example|Stripe dashboard>', '&lt;https://evil.example|Stripe dashboard&gt;'],
    ['an existing entity stays literal', '&lt;', '&amp;lt;'],
    ['bidi control', 'a\u202eb', 'a\\u202eb'],
  ])('%s', (_name, input, expected) => {
    expect(slackText(input)).toBe(expected)
  })

  it('slackCode cannot close a code block', () => {
    expect(slackCode('x```\n*bold* <!channel>')).toBe('x\u02cb\u02cb\u02cb\n*bold* &lt;!channel&gt;')
  })
})

describe('htmlText', () => {
  it('escapes markup and both quotes', () => {
    expect(htmlText(`<img src=x onerror="a('b')">&`)).toBe('&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;')
  })
})
