// Sub-commands of `airlock`. Kept apart from bin.ts so tests can call them in process.
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { configSchema } from '../core/config/schema.ts'
import { describeThrown } from '../core/errors.ts'
import { toDecision } from '../core/policy/decision.ts'
import { DEFAULT_CONFIG, readConfigFile } from './config-file.ts'
import { loadPolicyDir } from './policy-files.ts'
import { startGateway } from './server.ts'
import { buildPolicy, testPolicy } from './toolchain/build.ts'
import { caPaths, initCa } from './proxy/ca-store.ts'
import { auditVerifyCommand, holdsCommand, reportCommand, reviewsCommand } from './cli-holds.ts'
import { replayCommand } from './cli-replay.ts'

type Flags = Record<string, string | boolean | undefined>

const USAGE = `usage: airlock <command> [--config airlock.yaml]

  start                         run the gateway
  config check                  validate the config file and exit
  config schema                 print the config JSON Schema (for editors)
  policy build                  compile policies/ to build/policy (wasm) with the pinned OPA
  policy test                   run the Rego unit tests (opa test)
  policy eval --input req.json  evaluate one policy input through the gateway's code path
  policy replay LOG… [--source DIR | --policy BUILD] [--holds-db F] [--json] [--markdown F] [--fail-on T,…]
                                what a candidate policy would change over recorded decisions (docs/policy.md)
  ca init [--force]             create the TLS interception CA in <data_dir>/ca (key mode 0600)
  ca cert                       print the CA certificate (PEM) for clients to trust
  holds list [--state S] [--group G]     pending holds (approver API; AIRLOCK_APPROVER_TOKEN, --url)
  holds show ID                          full context of a hold
  holds approve ID [--comment C]         approve (after showing what you approve)
  holds deny ID [--comment C]            deny
  reviews list | ok ID | flag ID --comment C
  report [--json]                        how approvals are made: per rule, per approver, review coverage
  audit verify                           check the hash chain of the audit log

The config file defaults to $AIRLOCK_CONFIG or config/airlock.yaml.`

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n')

export async function cli(args: string[], flags: Flags): Promise<number> {
  const [command, sub] = args
  const configPath = typeof flags.config === 'string' ? flags.config : DEFAULT_CONFIG
  if (flags.help || !command) {
    out(USAGE)
    return command ? 0 : 2
  }
  switch (`${command} ${sub ?? ''}`.trim()) {
    case 'start':
      return start(configPath)
    case 'config check': {
      const config = readConfigFile(configPath)
      out(`${configPath}: ok (${config.routes.length} routes, ${config.agents.length} agents, ${config.approvers.length} approvers)`)
      return 0
    }
    case 'config schema':
      out(JSON.stringify(configJsonSchema(), null, 2))
      return 0
    case 'policy build': {
      const config = readConfigFile(configPath)
      const source = typeof flags.source === 'string' ? flags.source : config.policy.source
      const outDir = typeof flags.out === 'string' ? flags.out : config.policy.dir
      const { revision } = await buildPolicy(source, outDir)
      out(`built ${source} → ${outDir} (revision ${revision.slice(0, 12)})`)
      return 0
    }
    case 'policy test': {
      const config = readConfigFile(configPath)
      const source = typeof flags.source === 'string' ? flags.source : config.policy.source
      const result = await testPolicy(source, ['-v'])
      process.stdout.write(result.output)
      return result.ok ? 0 : 1
    }
    case 'policy eval':
      return evalInput(configPath, flags)
    case 'ca init': {
      const config = readConfigFile(configPath)
      const { certPath, created } = initCa(config.data_dir, { force: flags.force === true })
      if (!created) {
        process.stderr.write(`airlock: a CA already exists (${certPath}); clients trust it, so it is kept. Use --force to replace it.\n`)
        return 1
      }
      const cert = new X509Certificate(readFileSync(certPath))
      out(`created ${certPath} (key beside it, mode 0600)\n  subject ${cert.subject.replace(/\n/g, ', ')}\n  valid until ${cert.validTo}\n  sha256 ${cert.fingerprint256}\nMake clients trust ${certPath}: see docs/egress.md.`)
      return 0
    }
    case 'ca cert':
      process.stdout.write(readFileSync(caPaths(readConfigFile(configPath).data_dir).cert, 'utf8'))
      return 0
    case 'report':
      return reportCommand(readConfigFile(configPath), flags)
    case 'audit verify':
      return auditVerifyCommand(readConfigFile(configPath))
    default:
      if (command === 'policy' && sub === 'replay') return replayCommand(readConfigFile(configPath), args.slice(2), flags)
      if (command === 'holds') return holdsCommand(readConfigFile(configPath), args.slice(1), flags)
      if (command === 'reviews') return reviewsCommand(readConfigFile(configPath), args.slice(1), flags)
      process.stderr.write(`airlock: unknown command "${args.join(' ')}"\n\n${USAGE}\n`)
      return 2
  }
}

export function configJsonSchema(): object {
  return { $id: 'https://airlock.dev/schema/config.json', ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) }
}

async function evalInput(configPath: string, flags: Flags): Promise<number> {
  if (typeof flags.input !== 'string') throw new Error('policy eval needs --input <file.json> (a policy input, see docs/policy.md)')
  const config = readConfigFile(configPath)
  let input: Record<string, unknown>
  try {
    input = JSON.parse(await readFile(flags.input, 'utf8'))
  } catch (err) {
    throw new Error(`cannot read policy input ${flags.input}: ${describeThrown(err)}`)
  }
  const now = Date.now()
  input.gateway ??= { now: new Date(now).toISOString(), now_ns: now * 1e6, pending_holds: {} }
  const policy = await loadPolicyDir(config.policy.dir)
  const request = (input.request ?? {}) as { method?: string; host?: string; path?: string }
  const decision = toDecision(
    policy.evaluate(input),
    { timeout_s: config.holds.timeout_s, sample_rate: config.review.sample_rate },
    `${request.method ?? ''} ${request.host ?? ''}${request.path ?? ''}`,
  )
  out(JSON.stringify({ revision: policy.revision, decision }, null, 2))
  return 0
}

async function start(configPath: string): Promise<number> {
  const config = readConfigFile(configPath)
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
