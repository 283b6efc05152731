// A seeded, realistic traffic mix for the example policies (policies/*.rego): what four agents send in a working day.
// Deterministic for a seed, so a recorded run can be reproduced and a candidate policy compared on the same traffic.
//
// The shares are a judgement of what agents doing this work send (mostly reads; writes that are recorded for review;
// a few money movements and mass messages that need a person; some mistakes the policy refuses). They are not tuned
// to make the figures look good: docs/policy.md reports what they produce.

/** mulberry32: small, fast, good enough for a traffic mix (not for anything secret). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface TrafficRequest {
  agent: string
  /** What the agent is doing, for the run's summary (e.g. "stripe refund small"). */
  kind: string
  method: string
  /** Path under the gateway, route prefix included (/stripe/v1/refunds?…). */
  path: string
  headers: Record<string, string>
  body?: string
  /** How often the agent sends the very same request again after a hold or an upstream failure (0 = never). */
  retries: number
}

type Rand = () => number
type Maker = (r: Rand) => Omit<TrafficRequest, 'agent' | 'retries'> & { retries?: number }

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!
const id = (r: Rand, prefix: string) =>
  `${prefix}_${Math.floor(r() * 36 ** 6)
    .toString(36)
    .padStart(6, '0')}`
const form = (o: Record<string, string | number>) =>
  new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)])).toString()
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSONH = { 'content-type': 'application/json' }

const repos = ['acme/api', 'acme/web', 'acme/infra', 'acme/docs'] as const
const internal = ['C0ENGINEERING', 'C0OPS', '#engineering', '#ops'] as const
const external = ['C0PARTNER01', 'C0CUSTOMERS', 'D0DIRECT'] as const

/** Weighted makers per agent. Weights are per mille of that agent's requests. */
const AGENTS: Record<string, [number, Maker][]> = {
  // Billing: reads customers and charges, small refunds and charges, rarely a large one or a payout.
  'billing-bot': [
    [
      420,
      (r) => ({
        kind: 'stripe read',
        method: 'GET',
        path: `/stripe/v1/${pick(r, ['charges', 'customers', 'refunds', 'invoices'])}/${id(r, 'ch')}`,
        headers: {},
      }),
    ],
    [
      180,
      (r) => ({
        kind: 'stripe list',
        method: 'GET',
        path: `/stripe/v1/charges?limit=${pick(r, [10, 25, 100])}&customer=${id(r, 'cus')}`,
        headers: {},
      }),
    ],
    [
      150,
      (r) => ({
        kind: 'stripe refund small',
        method: 'POST',
        path: '/stripe/v1/refunds',
        headers: FORM,
        body: form({ charge: id(r, 'ch'), amount: 100 + Math.floor(r() * 30000) }),
      }),
    ],
    [
      90,
      (r) => ({
        kind: 'stripe customer update',
        method: 'POST',
        path: `/stripe/v1/customers/${id(r, 'cus')}`,
        headers: FORM,
        body: form({ email: `${id(r, 'u')}@example.com` }),
      }),
    ],
    [
      80,
      (r) => ({
        kind: 'stripe charge small',
        method: 'POST',
        path: '/stripe/v1/charges',
        headers: FORM,
        body: form({ amount: 500 + Math.floor(r() * 40000), currency: 'usd', customer: id(r, 'cus') }),
      }),
    ],
    [
      40,
      (r) => ({
        kind: 'stripe payment intent',
        method: 'POST',
        path: '/stripe/v1/payment_intents',
        headers: FORM,
        body: form({ amount: 1000 + Math.floor(r() * 30000), currency: 'usd', customer: id(r, 'cus') }),
      }),
    ],
    [
      8,
      (r) => ({
        kind: 'stripe refund large',
        method: 'POST',
        path: '/stripe/v1/refunds',
        headers: FORM,
        body: form({ charge: id(r, 'ch'), amount: 50000 + Math.floor(r() * 200000) }),
        retries: 1,
      }),
    ],
    [
      3,
      (r) => ({
        kind: 'stripe payout',
        method: 'POST',
        path: '/stripe/v1/payouts',
        headers: FORM,
        body: form({ amount: 100000 + Math.floor(r() * 900000), currency: 'usd' }),
      }),
    ],
    // Mistakes: an amount in dollars with a decimal point (unreadable → held), a method Stripe has no use for.
    [
      2,
      (r) => ({
        kind: 'mistake: stripe decimal amount',
        method: 'POST',
        path: '/stripe/v1/refunds',
        headers: FORM,
        body: form({ charge: id(r, 'ch'), amount: `${Math.floor(r() * 90) + 10}.50` }),
      }),
    ],
    [
      27,
      (r) => ({
        kind: 'mistake: stripe unknown endpoint',
        method: 'PUT',
        path: `/stripe/v1/charges/${id(r, 'ch')}`,
        headers: FORM,
        body: form({ description: 'x' }),
      }),
    ],
  ],
  // Development: reads, GraphQL queries, issues and pull requests; merges and direct commits are held.
  'dev-bot': [
    [
      480,
      (r) => ({
        kind: 'github read',
        method: 'GET',
        path: `/github/repos/${pick(r, repos)}/${pick(r, ['pulls', 'issues', 'commits', 'contents/README.md'])}`,
        headers: {},
      }),
    ],
    [
      150,
      (r) => ({
        kind: 'github graphql query',
        method: 'POST',
        path: '/github/graphql',
        headers: JSONH,
        body: JSON.stringify({
          query: `query { repository(owner: "acme", name: "${pick(r, ['api', 'web'])}") { pullRequests(last: ${1 + Math.floor(r() * 20)}) { nodes { title } } } }`,
        }),
      }),
    ],
    [
      160,
      (r) => ({
        kind: 'github comment',
        method: 'POST',
        path: `/github/repos/${pick(r, repos)}/issues/${1 + Math.floor(r() * 900)}/comments`,
        headers: JSONH,
        body: JSON.stringify({ body: `CI is green on ${id(r, 'sha')}` }),
      }),
    ],
    [
      90,
      (r) => ({
        kind: 'github open pr',
        method: 'POST',
        path: `/github/repos/${pick(r, repos)}/pulls`,
        headers: JSONH,
        body: JSON.stringify({ title: `Fix ${id(r, 'bug')}`, head: id(r, 'branch'), base: 'main' }),
      }),
    ],
    [
      85,
      (r) => ({
        kind: 'github label',
        method: 'POST',
        path: `/github/repos/${pick(r, repos)}/issues/${1 + Math.floor(r() * 900)}/labels`,
        headers: JSONH,
        body: JSON.stringify({ labels: ['triage'] }),
      }),
    ],
    [
      8,
      (r) => ({
        kind: 'github merge',
        method: 'PUT',
        path: `/github/repos/${pick(r, repos)}/pulls/${1 + Math.floor(r() * 900)}/merge`,
        headers: JSONH,
        body: JSON.stringify({ merge_method: 'squash' }),
        retries: 1,
      }),
    ],
    [
      2,
      (r) => ({
        kind: 'github commit file',
        method: 'PUT',
        path: `/github/repos/${pick(r, repos)}/contents/docs/${id(r, 'page')}.md`,
        headers: JSONH,
        body: JSON.stringify({ message: 'docs', content: 'aGVsbG8=', branch: pick(r, ['main', 'docs-update']) }),
      }),
    ],
    // Mistakes: deleting a repository (denied), a collaborator change no rule allows.
    [
      2,
      (r) => ({
        kind: 'mistake: github repo delete',
        method: 'DELETE',
        path: `/github/repos/${pick(r, repos)}`,
        headers: {},
      }),
    ],
    [
      23,
      (r) => ({
        kind: 'mistake: github collaborator',
        method: 'PUT',
        path: `/github/repos/${pick(r, repos)}/collaborators/${id(r, 'user')}`,
        headers: JSONH,
        body: '{}',
      }),
    ],
  ],
  // Support: reads Slack, posts to internal and customer channels, sends small e-mails; rarely @channel or a mass mail.
  'support-bot': [
    [
      400,
      (r) => ({
        kind: 'slack read',
        method: 'GET',
        path: `/slack/api/${pick(r, ['conversations.history', 'conversations.replies', 'users.info'])}?channel=${pick(r, internal)}`,
        headers: {},
      }),
    ],
    [
      250,
      (r) => ({
        kind: 'slack post internal',
        method: 'POST',
        path: '/slack/api/chat.postMessage',
        headers: JSONH,
        body: JSON.stringify({ channel: pick(r, internal), text: `Ticket ${id(r, 't')} resolved` }),
      }),
    ],
    [
      170,
      (r) => ({
        kind: 'slack post external',
        method: 'POST',
        path: '/slack/api/chat.postMessage',
        headers: JSONH,
        body: JSON.stringify({ channel: pick(r, external), text: `Hi! Your ticket ${id(r, 't')} is fixed.` }),
      }),
    ],
    [
      130,
      (r) => ({
        kind: 'mail send',
        method: 'POST',
        path: '/mail/v3/mail/send',
        headers: JSONH,
        body: JSON.stringify({
          subject: `Re: ticket ${id(r, 't')}`,
          personalizations: [{ to: [{ email: `${id(r, 'c')}@example.com` }] }],
        }),
      }),
    ],
    [25, () => ({ kind: 'mail read', method: 'GET', path: '/mail/v3/templates', headers: {} })],
    [
      5,
      (r) => ({
        kind: 'slack mass mention',
        method: 'POST',
        path: '/slack/api/chat.postMessage',
        headers: JSONH,
        body: JSON.stringify({ channel: pick(r, internal), text: `<!channel> incident ${id(r, 'inc')} is resolved` }),
        retries: 1,
      }),
    ],
    [
      2,
      (r) => ({
        kind: 'mail mass send',
        method: 'POST',
        path: '/mail/v3/mail/send',
        headers: JSONH,
        body: JSON.stringify({
          subject: 'Release notes',
          personalizations: [
            { to: Array.from({ length: 12 + Math.floor(r() * 40) }, (_, i) => ({ email: `c${i}@example.com` })) },
          ],
        }),
      }),
    ],
    // Mistakes: a Slack method no rule allows, a method-override header.
    [
      14,
      (r) => ({
        kind: 'mistake: slack admin method',
        method: 'POST',
        path: '/slack/api/admin.users.invite',
        headers: JSONH,
        body: JSON.stringify({ email: `${id(r, 'x')}@example.com` }),
      }),
    ],
    [
      4,
      () => ({
        kind: 'mistake: method override',
        method: 'POST',
        path: '/slack/api/conversations.history',
        headers: { ...JSONH, 'x-http-method-override': 'DELETE' },
        body: '{}',
      }),
    ],
  ],
  // Research: reads an echo service; now and then posts to it.
  'research-bot': [
    [900, (r) => ({ kind: 'httpbin read', method: 'GET', path: `/httpbin/get?q=${id(r, 'q')}`, headers: {} })],
    [
      80,
      (r) => ({
        kind: 'httpbin review post',
        method: 'POST',
        path: '/httpbin/anything/review',
        headers: JSONH,
        body: JSON.stringify({ note: id(r, 'n') }),
      }),
    ],
    [
      2,
      (r) => ({
        kind: 'httpbin hold post',
        method: 'POST',
        path: '/httpbin/anything/hold',
        headers: JSONH,
        body: JSON.stringify({ note: id(r, 'n') }),
      }),
    ],
    [
      18,
      () => ({
        kind: 'mistake: httpbin patch',
        method: 'PATCH',
        path: '/httpbin/anything/thing',
        headers: JSONH,
        body: '{}',
      }),
    ],
  ],
}

/** How much of the traffic each agent sends. */
const AGENT_SHARE: [string, number][] = [
  ['billing-bot', 0.3],
  ['dev-bot', 0.3],
  ['support-bot', 0.25],
  ['research-bot', 0.15],
]

export const TRAFFIC_AGENTS = AGENT_SHARE.map(([a]) => a)

function weighted<T>(r: Rand, items: [number, T][]): T {
  const total = items.reduce((s, [w]) => s + w, 0)
  let x = r() * total
  for (const [w, item] of items) if ((x -= w) < 0) return item
  return items.at(-1)![1]
}

/** The n requests of a run, in order: deterministic for a seed. */
export function* trafficMix(seed: number, n: number): Generator<TrafficRequest> {
  const r = prng(seed)
  for (let i = 0; i < n; i++) {
    const agent = weighted(
      r,
      AGENT_SHARE.map(([a, w]) => [w, a] as [number, string]),
    )
    const made = weighted(r, AGENTS[agent]!)(r)
    yield { ...made, agent, retries: made.retries ?? 0 }
  }
}
