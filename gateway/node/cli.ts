// Sub-commands of `airlock`. Kept apart from bin.ts so tests can call them in process; the command line itself (every
// command's flags and help) is in cli-args.ts.
import { X509Certificate } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import type { Config } from '../core/config/schema.ts'
import { configSchema } from '../core/config/schema.ts'
import { AirlockError } from '../core/errors.ts'
import type { CommandSpec, Flags } from './cli-args.ts'
import { auditVerifyCommand, holdsCommand, reportCommand, reviewsCommand } from './cli-holds.ts'
import { buildCommand, crossCheck, evalCommand, testCommand } from './cli-policy.ts'
import { replayCommand } from './cli-replay.ts'
import { DEFAULT_CONFIG, readConfigFile } from './config-file.ts'
import { loadPolicyDir } from './policy-files.ts'
import { caPaths, initCa } from './proxy/ca-store.ts'
import { startGateway } from './server.ts'

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`)

export async function cli(command: CommandSpec, args: string[], flags: Flags): Promise<number> {
  const configPath = typeof flags.config === 'string' ? flags.config : DEFAULT_CONFIG
  const config = () => readConfigFile(configPath)
  const [group, verb] = command.path.split(' ')
  switch (command.path) {
    case 'start':
      return start(withServerOverrides(config(), flags))
    case 'config check':
      return configCheck(configPath, config())
    case 'config schema':
      out(JSON.stringify(configJsonSchema(), null, 2))
      return 0
    case 'policy build':
      return buildCommand(config(), flags)
    case 'policy test':
      return testCommand(config(), flags)
    case 'policy eval':
      return evalCommand(config(), flags)
    case 'policy replay':
      return replayCommand(config(), args, flags)
    case 'ca init': {
      const { certPath, created } = initCa(config().data_dir, { force: flags.force === true })
      if (!created) {
        process.stderr.write(
          `airlock: a CA already exists (${certPath}); clients trust it, so it is kept. Use --force to replace it.\n`,
        )
        return 1
      }
      const cert = new X509Certificate(readFileSync(certPath))
      out(
        `created ${certPath} (key beside it, mode 0600)\n  subject ${cert.subject.replace(/\n/g, ', ')}\n  valid until ${cert.validTo}\n  sha256 ${cert.fingerprint256}\nMake clients trust ${certPath}: see docs/egress.md.`,
      )
      return 0
    }
    case 'ca cert':
      process.stdout.write(readFileSync(caPaths(config().data_dir).cert, 'utf8'))
      return 0
    case 'report':
      return reportCommand(config(), flags)
    case 'audit verify':
      return auditVerifyCommand(config())
  }
  if (group === 'holds') return holdsCommand(config(), verb!, args[0], flags)
  if (group === 'reviews') return reviewsCommand(config(), verb!, args[0], flags)
  throw new AirlockError('AIRLOCK_INTERNAL', `no handler for "airlock ${command.path}"`)
}

export function configJsonSchema(): object {
  return {
    $id: 'https://airlock.dev/schema/config.json',
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
  }
}

/** --port/--host, else $AIRLOCK_PORT/$AIRLOCK_HOST, else the config: so a newcomer need not copy the config to move. */
export function withServerOverrides(config: Config, flags: Flags, env: NodeJS.ProcessEnv = process.env): Config {
  const host = typeof flags.host === 'string' ? flags.host : env.AIRLOCK_HOST
  const rawPort = typeof flags.port === 'string' ? flags.port : env.AIRLOCK_PORT
  let port = config.server.port
  if (rawPort !== undefined) {
    const from = typeof flags.port === 'string' ? '--port' : 'AIRLOCK_PORT'
    if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) > 65535) {
      throw new AirlockError('AIRLOCK_USAGE', `${from} must be a port number from 0 to 65535, not "${rawPort}"`)
    }
    port = Number(rawPort)
  }
  return { ...config, server: { ...config.server, port, ...(host ? { host } : {}) } }
}

async function configCheck(configPath: string, config: Config): Promise<number> {
  out(
    `${configPath}: ok (${config.routes.length} routes, ${config.agents.length} agents, ${config.approvers.length} approvers)`,
  )
  // Given a built policy, check it loads and agrees with the config (approver groups).
  if (!existsSync(join(config.policy.dir, 'manifest.json'))) {
    out(`policy: not built in ${config.policy.dir} (airlock policy build); the policy cross-check is skipped`)
    return 0
  }
  const policy = await loadPolicyDir(config.policy.dir)
  const problems = existsSync(config.policy.source) ? await crossCheck(config) : []
  if (problems.length) {
    throw new AirlockError(
      'AIRLOCK_CONFIG_MISMATCH',
      `the policy and the config disagree:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    )
  }
  out(
    `policy: revision ${policy.revision.slice(0, 12)} in ${config.policy.dir}; every approver group its holds name is configured`,
  )
  return 0
}

async function start(config: Config): Promise<number> {
  const gw = await startGateway({ config })
  const stop = async (signal: string) => {
    process.stderr.write(`airlock: ${signal}, shutting down\n`)
    await gw.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop('SIGINT'))
  process.once('SIGTERM', () => void stop('SIGTERM'))
  await new Promise(() => {}) // serve until a signal
  return 0
}
