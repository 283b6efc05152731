// The console's stylesheet and its one small script, served by Airlock itself (no CDN, no build step). The script
// only adds conveniences: the dwell-time countdown that enables the approve button. Every decision works without it
// because the server enforces the same rules.
export const CSS = `
:root { --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --bg:#fff; --soft:#f6f8fa; --accent:#0b5cad; --bad:#a40e26; --good:#116329; --warn:#7d4e00 }
* { box-sizing: border-box }
body { margin:0; font:15px/1.5 system-ui, sans-serif; color:var(--fg); background:var(--bg) }
.skip { position:absolute; left:-999px } .skip:focus { left:8px; top:8px; background:#fff; padding:4px 8px; z-index:9 }
header.top { display:flex; flex-wrap:wrap; gap:16px; align-items:center; padding:8px 20px; border-bottom:1px solid var(--line); background:var(--soft) }
header .brand { font-weight:600 }
header nav ul { display:flex; gap:12px; list-style:none; margin:0; padding:0 }
header nav a[aria-current=page] { font-weight:700; text-decoration:underline }
.whoami { margin-left:auto; display:flex; gap:8px; align-items:center }
main { padding:12px 20px 40px; max-width:1200px }
a { color:var(--accent) }
:focus-visible { outline:3px solid #e59700; outline-offset:2px }
table { border-collapse:collapse; width:100%; margin:8px 0 16px }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top }
th { background:var(--soft); font-weight:600 }
.notice { padding:8px 12px; border-radius:4px } .notice.error { background:#ffebe9; color:var(--bad) } .notice.ok { background:#dafbe1; color:var(--good) }
.risk, .state { display:inline-block; padding:0 6px; border-radius:8px; font-size:13px; border:1px solid var(--line) }
.risk-critical { background:#a40e26; color:#fff } .risk-high { background:#ffebe9; color:var(--bad) } .risk-medium { background:#fff8c5; color:var(--warn) }
.state-denied, .state-failed, .state-outcome_unknown { color:var(--bad) } .state-executed, .state-approved { color:var(--good) }
.grid { display:grid; grid-template-columns: minmax(0,3fr) minmax(0,2fr); gap:20px } @media (max-width:900px) { .grid { grid-template-columns:1fr } }
section.card { border:1px solid var(--line); border-radius:6px; padding:8px 14px; margin-bottom:14px }
section.card h2 { font-size:17px; margin:6px 0 }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; margin:0 } dl.facts dt { color:var(--muted) } dl.facts dd { margin:0; overflow-wrap:anywhere }
pre { background:var(--soft); padding:8px; overflow:auto; max-height:420px; white-space:pre-wrap; overflow-wrap:anywhere }
.claim { border-left:4px solid #e59700; padding:4px 10px; background:#fff8c5 }
.diff-unusual { color:var(--bad); font-weight:600 }
tr.denial td { background:#ffebe9 }
form.decide label { display:block; font-weight:600; margin-top:8px } form.decide textarea { width:100%; min-height:80px; font:inherit }
.buttons { display:flex; gap:12px; margin-top:10px; align-items:center; flex-wrap:wrap }
button { font:inherit; padding:6px 14px; border-radius:6px; border:1px solid var(--line); background:var(--soft); cursor:pointer }
button.approve { background:var(--good); color:#fff; border-color:var(--good) } button.deny { background:var(--bad); color:#fff; border-color:var(--bad) }
button:disabled { opacity:.5; cursor:not-allowed }
.hint { color:var(--muted); font-size:13px }
.login { max-width:420px } .login input { width:100%; font:inherit; padding:6px }
svg text { font:12px system-ui, sans-serif; fill:var(--fg) } figure { margin:8px 0 20px } figcaption { color:var(--muted) }
`

export const JS = `
document.querySelectorAll('[data-dwell-ms]').forEach(function (btn) {
  var until = Date.now() + Number(btn.getAttribute('data-dwell-ms'))
  var hint = document.getElementById(btn.getAttribute('aria-describedby'))
  function tick() {
    var left = Math.ceil((until - Date.now()) / 1000)
    if (left <= 0) {
      btn.disabled = false
      if (hint) hint.textContent = 'You have had time to read it; approve only if it is right.'
      return
    }
    if (hint) hint.textContent = 'High-risk hold: approve is available in ' + left + ' s, after you have read it.'
    setTimeout(tick, 250)
  }
  tick()
})
`
