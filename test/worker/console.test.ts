// The console smoke test inside workerd: the same pages and forms as on Node, served by the holds Durable Object.
// A browser cannot run inside workerd, so this drives the console over HTTP as a browser would (cookies, the forms'
// hidden fields): sign in with an approver token, open the held request, approve it, and the waiting agent gets the
// upstream's answer once. The Node suite (test/browser/console.test.ts) covers the same pages in real chromium.
import { describe, expect, it } from 'vitest'
import { approverTokens, keys } from './fixtures.ts'
import { gateway, post, toUpstream } from './helpers.ts'

/** A cookie jar of one: the console's cookies by name. */
class Browser {
  readonly cookies = new Map<string, string>()
  async go(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await gateway(path, { ...init, headers, redirect: 'manual' })
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split('; ')
      const [name, value] = pair!.split('=') as [string, string]
      if (attrs.includes('Max-Age=0')) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }
  submit(path: string, fields: Record<string, string>) {
    return this.go(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    })
  }
}
const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? ''

describe('console on Workers', () => {
  it('signs in with an approver token (never an agent key), shows the hold, and approves it once', async () => {
    const marker = crypto.randomUUID()
    const agent = post('/hold', { marker, prefer: 'wait=20' })
    const b = new Browser()
    expect((await b.go('/_airlock/console')).headers.get('location')).toMatch(/\/_airlock\/console\/login/)

    let login = await (await b.go('/_airlock/console/login')).text()
    const refused = await b.submit('/_airlock/console/login', { csrf: field(login, 'csrf'), token: keys.billing })
    expect(refused.status).toBe(401)
    login = await refused.text()
    expect(login).toContain('not a valid approver token')
    const signedIn = await b.submit('/_airlock/console/login', {
      csrf: field(login, 'csrf'),
      token: approverTokens.bob,
    })
    expect(signedIn.status).toBe(303)
    const session = signedIn.headers.getSetCookie().find((c) => c.startsWith('airlock_console='))!
    expect(session).toContain('HttpOnly')
    expect(session).toContain('SameSite=Strict')
    expect(session).toContain('Secure') // public_url is https

    // The queue lists every pending "Hold one": open each until the one this test's agent is waiting on.
    let holdPath = ''
    let page = ''
    for (let i = 0; i < 100 && !holdPath; i++) {
      const queue = await (await b.go('/_airlock/console')).text()
      for (const [, p] of queue.matchAll(/href="(\/_airlock\/console\/holds\/[^"]+)">Hold one/g)) {
        page = await (await b.go(p!)).text()
        if (page.includes(marker)) {
          holdPath = p!
          break
        }
      }
      if (!holdPath) await new Promise((r) => setTimeout(r, 50))
    }
    expect(page).toContain(marker)
    expect(page).toContain('refund a duplicate charge') // the agent's stated intent
    const csrf = field(page, 'csrf')
    const context = field(page, 'context_sha256')
    expect(context).toMatch(/^[0-9a-f]{64}$/)

    expect(
      (await b.submit(`${holdPath}/decide`, { verb: 'approve', comment: 'no csrf', context_sha256: context })).status,
    ).toBe(403)
    await new Promise((r) => setTimeout(r, 1100)) // ops' minimum review time for this high-risk hold
    const decided = await b.submit(`${holdPath}/decide`, {
      csrf,
      verb: 'approve',
      comment: 'checked on workers',
      context_sha256: context,
    })
    expect(decided.status).toBe(303)
    expect(decided.headers.get('location')).toContain('done=approve')

    const res = await agent
    expect(res.status).toBe(200)
    expect(await toUpstream(marker)).toHaveLength(1)
  })
})
