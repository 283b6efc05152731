// Agent identity: an Airlock key presented where the agent's SDK already puts its API key, or in Airlock-Agent-Key.
// Keys are hashed and compared in constant time against every agent, so neither timing nor the config file
// reveals a key.
import type { AgentConfig, AgentKeyLocation, RouteConfig } from '../config/schema.ts'
import { AirlockError } from '../errors.ts'
import { KeyRing } from '../keys.ts'
import type { Secrets } from '../ports.ts'
import type { Agent } from './request.ts'

export const AGENT_KEY_HEADER = 'airlock-agent-key'

/** Reads the presented key from the places the route allows. */
export function presentedKey(headers: Headers, allowed: readonly AgentKeyLocation[]): string | undefined {
  for (const where of allowed) {
    if (where === 'header') {
      const v = headers.get(AGENT_KEY_HEADER)
      if (v) return v.trim()
    } else if (where === 'x-api-key') {
      const v = headers.get('x-api-key')
      if (v) return v.trim()
    } else {
      const auth = headers.get('authorization')
      if (!auth) continue
      const [scheme, value = ''] = auth.trim().split(/\s+/, 2)
      if (where === 'bearer' && scheme?.toLowerCase() === 'bearer' && value) return value
      if (where === 'basic' && scheme?.toLowerCase() === 'basic' && value) {
        // SDKs put the key in the user part (Stripe) or the password part (user = agent id): the password wins when both are set.
        const decoded = decodeBase64(value)
        if (decoded === undefined) continue
        const colon = decoded.indexOf(':')
        const user = colon < 0 ? decoded : decoded.slice(0, colon)
        const pass = colon < 0 ? '' : decoded.slice(colon + 1)
        if (user && !pass) return user
        if (pass && !user) return pass
        if (pass) return pass
      }
    }
  }
  return undefined
}

function decodeBase64(s: string): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)))
  } catch {
    return undefined
  }
}

export class AgentDirectory {
  readonly ring: KeyRing<AgentConfig>
  private constructor(ring: KeyRing<AgentConfig>) {
    this.ring = ring
  }

  /** Resolves every agent's key digest; an agent whose key_env is unset is left out and reported. */
  static async create(
    agents: AgentConfig[],
    secrets: Secrets,
    warn: (msg: string) => void = () => {},
  ): Promise<AgentDirectory> {
    const ring = await KeyRing.create(
      agents,
      (a) => ({ env: a.key_env, sha256: a.key_sha256 }),
      secrets,
      (a, env) => warn(`agent "${a.id}": environment variable ${env} is not set; the agent cannot authenticate`),
    )
    return new AgentDirectory(ring)
  }

  /** Authenticates the request for the route, or throws 401/403. */
  async authenticate(headers: Headers, route: RouteConfig): Promise<Agent> {
    const key = presentedKey(headers, route.agent_key)
    if (!key) {
      throw new AirlockError(
        'AIRLOCK_AGENT_KEY_MISSING',
        `no Airlock agent key: send it in the Airlock-Agent-Key header${route.agent_key.includes('bearer') ? ' or as Authorization: Bearer <key>' : ''}`,
      )
    }
    const found = await this.ring.find(key)
    if (!found) throw new AirlockError('AIRLOCK_AGENT_KEY_INVALID', 'the Airlock agent key is not valid')
    if (route.agents && !route.agents.includes(found.id)) {
      throw new AirlockError('AIRLOCK_AGENT_NOT_ALLOWED', `agent "${found.id}" may not use route "${route.name}"`)
    }
    return { id: found.id, owner: found.owner, labels: found.labels }
  }
}
