// Forward-proxy agents identify with Proxy-Authorization, which every HTTP client derives from its proxy URL:
// Basic "agent-id:KEY" (the key in the password part; the user part is free) or Bearer KEY. Missing or wrong → 407.
import type { RouteConfig } from '../../core/config/schema.ts'
import { AirlockError } from '../../core/errors.ts'
import { type AgentDirectory, presentedKey } from '../../core/pipeline/agents.ts'
import type { Agent } from '../../core/pipeline/request.ts'

/** The key in Proxy-Authorization, read by the same rules as a reverse-mode Authorization header. */
export function proxyKey(headers: Headers): string | undefined {
  const value = headers.get('proxy-authorization')
  return value ? presentedKey(new Headers({ authorization: value }), ['bearer', 'basic']) : undefined
}

export async function authenticateProxy(
  agents: AgentDirectory,
  headers: Headers,
): Promise<{ agent: Agent; key: string }> {
  const key = proxyKey(headers)
  if (!key) {
    throw new AirlockError(
      'AIRLOCK_PROXY_AUTH_REQUIRED',
      'Airlock needs the agent key as proxy credentials: put it in the proxy URL (http://AGENT_ID:KEY@airlock:8080) or send Proxy-Authorization: Bearer KEY',
    )
  }
  const found = await agents.ring.find(key)
  if (!found) throw new AirlockError('AIRLOCK_PROXY_AUTH_INVALID', 'the agent key in Proxy-Authorization is not valid')
  return { agent: { id: found.id, owner: found.owner, labels: found.labels }, key }
}

/** A route's `agents` list applies in every mode. */
export function checkRouteAgent(route: RouteConfig, agent: Agent): Agent {
  if (route.agents && !route.agents.includes(agent.id)) {
    throw new AirlockError('AIRLOCK_AGENT_NOT_ALLOWED', `agent "${agent.id}" may not use route "${route.name}"`)
  }
  return agent
}
