// Sign-in: the approver's token (the one configured as token_sha256 / token_env), never an agent key.
import { html } from 'hono/html'
import { BASE, type Html, page } from './layout.ts'

export function loginPage(opts: {
  csrf: string
  error?: string | undefined
  next?: string | undefined
  sso?: boolean
}): Html {
  return page(
    { title: 'Sign in', notice: opts.error ? { kind: 'error', text: opts.error } : undefined },
    html`<form class="login" method="post" action="${BASE}/login">
  <p>Sign in with your <strong>approver token</strong> (your operator gave it to you; it is configured for you in
  <code>approvers</code>). Agent keys cannot sign in here.</p>
  <input type="hidden" name="csrf" value="${opts.csrf}">
  ${opts.next ? html`<input type="hidden" name="next" value="${opts.next}">` : ''}
  <label for="token">Approver token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <div class="buttons"><button type="submit">Sign in</button></div>
  ${opts.sso ? html`<p class="hint">Single sign-on is enabled: if your proxy names you, you are signed in automatically.</p>` : ''}
</form>`,
  )
}
