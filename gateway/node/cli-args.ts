// The `airlock` command line: one table of sub-commands, each with its own flags and help. Parsing is strict: an
// unknown flag or a stray argument is an error that names it, so a mistyped `--coment` cannot record an approval
// without its comment.
import { type ParseArgsOptionDescriptor, parseArgs } from 'node:util'
import { AirlockError } from '../core/errors.ts'

export type Flags = Record<string, string | boolean | undefined>

interface FlagSpec {
  type: 'string' | 'boolean'
  short?: string
  /** The value's placeholder in help ("FILE"). */
  value?: string
  help: string
}

export interface CommandSpec {
  /** "holds approve" */
  path: string
  /** Positional arguments, all required ("ID"). */
  args: string[]
  /** Any number of further arguments ("LOG…"). */
  rest?: string
  summary: string
  flags: Record<string, FlagSpec>
  /** More help, shown by `airlock <command> --help`. */
  details?: string
}

const config: FlagSpec = {
  type: 'string',
  short: 'c',
  value: 'FILE',
  help: 'the config file (default $AIRLOCK_CONFIG, else config/airlock.yaml)',
}
const help: FlagSpec = { type: 'boolean', short: 'h', help: 'show this help' }
const url: FlagSpec = {
  type: 'string',
  value: 'URL',
  help: "the gateway's URL (default $AIRLOCK_URL, else the config's server address)",
}
const comment: FlagSpec = { type: 'string', value: 'TEXT', help: 'why you decided so (recorded in the audit log)' }
const source: FlagSpec = {
  type: 'string',
  value: 'DIR',
  help: 'the Rego folder (default: policy.source in the config)',
}
const APPROVER = 'As the approver whose token is in $AIRLOCK_APPROVER_TOKEN, through the running gateway.'

export const COMMANDS: readonly CommandSpec[] = [
  {
    path: 'start',
    args: [],
    summary: 'run the gateway',
    flags: {
      port: {
        type: 'string',
        value: 'N',
        help: 'listen on this port instead of server.port ($AIRLOCK_PORT; 0 picks a free one)',
      },
      host: { type: 'string', value: 'ADDR', help: 'listen on this address instead of server.host ($AIRLOCK_HOST)' },
    },
    details:
      'Exits non-zero at once when a port is taken or the config, a credential or the CA is unusable; warns about\n' +
      'unset credentials. Without a loadable policy it starts and refuses every request (503) until one is built.',
  },
  {
    path: 'config check',
    args: [],
    summary: 'validate the config file (and, if built, the policy against it) and exit',
    flags: {},
  },
  { path: 'config schema', args: [], summary: 'print the config JSON Schema (for editors)', flags: {} },
  {
    path: 'policy build',
    args: [],
    summary: 'compile the Rego to wasm with the pinned OPA',
    flags: {
      source,
      out: { type: 'string', value: 'DIR', help: 'the output folder (default: policy.dir in the config)' },
    },
    details: 'The same source gives the same revision wherever it is built (docs/policy.md).',
  },
  {
    path: 'policy test',
    args: [],
    summary: 'run the Rego unit tests (opa test): failures first, concisely',
    flags: {
      source,
      verbose: { type: 'boolean', short: 'v', help: "every test and the trace of each failure (opa test -v's report)" },
    },
  },
  {
    path: 'policy eval',
    args: [],
    summary: "evaluate one policy input through the gateway's code path",
    flags: {
      input: {
        type: 'string',
        short: 'i',
        value: 'FILE',
        help: 'a policy input as JSON (see docs/policy.md); required',
      },
    },
    details: 'Also reports holds that name an approver group the config does not define.',
  },
  {
    path: 'policy replay',
    args: [],
    rest: 'LOG…',
    summary: 'what a candidate policy would change over recorded decisions (docs/policy.md)',
    flags: {
      source,
      policy: { type: 'string', value: 'BUILD', help: 'a built policy folder as the candidate, instead of --source' },
      'holds-db': {
        type: 'string',
        value: 'FILE',
        help: "the holds database to join people's decisions from (default: <data_dir>/airlock.db)",
      },
      json: { type: 'boolean', help: 'the report as JSON' },
      markdown: { type: 'string', value: 'FILE', help: 'also write the report as Markdown to FILE' },
      'fail-on': { type: 'string', value: 'T,…', help: 'exit non-zero past these thresholds (for CI; docs/policy.md)' },
    },
    details: 'LOG is a file of decision lines (JSON lines, .gz, or "-" for stdin).',
  },
  {
    path: 'ca init',
    args: [],
    summary: 'create the TLS interception CA in <data_dir>/ca (key mode 0600)',
    flags: { force: { type: 'boolean', help: 'replace an existing CA (clients trusting the old one stop working)' } },
  },
  { path: 'ca cert', args: [], summary: 'print the CA certificate (PEM) for clients to trust', flags: {} },
  {
    path: 'holds list',
    args: [],
    summary: 'list holds (default: pending)',
    flags: {
      state: { type: 'string', value: 'S', help: 'pending, approved, executed, denied, expired, …' },
      group: { type: 'string', value: 'G', help: 'only this approver group' },
      url,
    },
    details: APPROVER,
  },
  {
    path: 'holds show',
    args: ['ID'],
    summary: 'the full context of a hold (records that you viewed it)',
    flags: { url },
    details: APPROVER,
  },
  {
    path: 'holds approve',
    args: ['ID'],
    summary: 'show the hold, ask for confirmation, approve',
    flags: {
      comment,
      yes: { type: 'boolean', short: 'y', help: 'approve without asking: for after `airlock holds show ID`' },
      'grant-minutes': {
        type: 'string',
        value: 'N',
        help: 'also allow this rule for this agent for N minutes (a grant; needs --grant-uses)',
      },
      'grant-uses': { type: 'string', value: 'M', help: 'the grant allows at most M more requests' },
      'grant-same': {
        type: 'string',
        value: 'FIELDS',
        help: 'comma-separated body/query fields that must keep the approved value',
      },
      'grant-max': {
        type: 'string',
        value: 'FIELDS',
        help: 'comma-separated numeric body fields that may not exceed the approved value',
      },
      url,
    },
    details:
      `${APPROVER}\nOn a terminal it shows the hold and asks you to type "yes". Without a terminal, review the hold with\n` +
      '`airlock holds show ID` first and pass --yes: the time from that first view to the approval is recorded, and an\n' +
      'approval seconds after the first view is reported as a fast decision (docs/approvals.md).\n' +
      'With --grant-minutes and --grant-uses, the approval also makes a grant, if the policy marked the hold grantable\n' +
      'and the minutes are within your group\'s max_grant_minutes (docs/approvals.md "Grants").',
  },
  {
    path: 'holds deny',
    args: ['ID'],
    summary: 'show the hold and deny it (denying needs no confirmation)',
    flags: { comment, url },
    details: APPROVER,
  },
  {
    path: 'reviews list',
    args: [],
    summary: 'review items (default: pending)',
    flags: { state: { type: 'string', value: 'S', help: 'pending, ok or flagged' }, url },
    details: APPROVER,
  },
  { path: 'reviews ok', args: ['ID'], summary: 'mark a review item fine', flags: { comment, url }, details: APPROVER },
  {
    path: 'reviews flag',
    args: ['ID'],
    summary: 'flag a review item (say why with --comment)',
    flags: { comment, url },
    details: APPROVER,
  },
  {
    path: 'report',
    args: [],
    summary: 'how approvals are made: per rule, per approver, review coverage; with --log, the shadow policy',
    flags: {
      json: { type: 'boolean', help: 'as JSON' },
      log: {
        type: 'string',
        value: 'FILE,…',
        help: 'decision log files (JSON lines): adds how the shadow policy (policy.shadow) disagreed',
      },
    },
    details: 'Reads the data folder directly: works with the gateway stopped.',
  },
  {
    path: 'audit verify',
    args: [],
    summary: 'check the hash chain of the audit log',
    flags: {},
    details: 'Reads the data folder directly.',
  },
]

const GROUPS = new Set(COMMANDS.filter((c) => c.path.includes(' ')).map((c) => c.path.split(' ')[0]!))

function usageLine(c: CommandSpec): string {
  const flags = Object.entries(c.flags).map(([name, f]) => `[--${name}${f.value ? ` ${f.value}` : ''}]`)
  return ['airlock', c.path, ...c.args, ...(c.rest ? [c.rest] : []), ...flags].join(' ')
}

/** The overview (`airlock --help`), or one group's commands (`airlock holds --help`). */
export function overview(group?: string): string {
  const list = COMMANDS.filter((c) => !group || c.path.split(' ')[0] === group)
  const label = (c: CommandSpec) => [c.path, ...c.args, ...(c.rest ? [c.rest] : [])].join(' ')
  const width = Math.max(...list.map((c) => label(c).length))
  const lines = list.map((c) => `  ${label(c).padEnd(width)}  ${c.summary}`)
  return [
    `usage: airlock ${group ?? '<command>'} … [--config FILE]`,
    '',
    ...lines,
    '',
    `\`airlock ${group ? `${group} <command>` : '<command>'} --help\` shows a command's flags. The config file defaults to $AIRLOCK_CONFIG, else config/airlock.yaml.`,
  ].join('\n')
}

export function commandHelp(c: CommandSpec): string {
  const flags = Object.entries({ ...c.flags, config, help })
  const names = flags.map(
    ([name, f]) => `${f.short ? `-${f.short}, ` : '    '}--${name}${f.value ? ` ${f.value}` : ''}`,
  )
  const width = Math.max(...names.map((n) => n.length))
  return [
    `usage: ${usageLine(c)}`,
    '',
    `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`,
    ...(c.details ? [c.details] : []),
    '',
    ...flags.map(([, f], i) => `  ${names[i]!.padEnd(width)}  ${f.help}`),
  ].join('\n')
}

export type CommandLine = { help: string } | { command: CommandSpec; args: string[]; flags: Flags }

const usage = (message: string) => new AirlockError('AIRLOCK_USAGE', message)

function descriptors(specs: Record<string, FlagSpec>): Record<string, ParseArgsOptionDescriptor> {
  return Object.fromEntries(
    Object.entries(specs).map(([name, f]) => [name, { type: f.type, ...(f.short ? { short: f.short } : {}) }]),
  )
}

/** The words of the command, skipping flags and the values of flags that take one. */
function words(argv: string[]): string[] {
  const valued = new Set<string>()
  for (const c of COMMANDS) {
    for (const [name, f] of Object.entries({ ...c.flags, config })) {
      if (f.type !== 'string') continue
      valued.add(`--${name}`)
      if (f.short) valued.add(`-${f.short}`)
    }
  }
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') break
    if (a.startsWith('-')) {
      if (valued.has(a)) i++
      continue
    }
    out.push(a)
  }
  return out
}

/** Parses argv (without node and the script) into a command, its arguments and its flags; throws AIRLOCK_USAGE. */
export function parseCommandLine(argv: string[]): CommandLine {
  const [first, second] = words(argv)
  const wantsHelp = argv.includes('--help') || argv.includes('-h')
  const command = COMMANDS.find((c) => c.path === `${first} ${second}`) ?? COMMANDS.find((c) => c.path === first)
  if (!command) {
    if (first === undefined) {
      if (wantsHelp) return { help: overview() }
      throw usage(`a command is needed\n\n${overview()}`)
    }
    if (GROUPS.has(first)) {
      if (wantsHelp && second === undefined) return { help: overview(first) }
      throw usage(`unknown command "airlock ${first}${second ? ` ${second}` : ''}"\n\n${overview(first)}`)
    }
    throw usage(`unknown command "airlock ${first}"\n\n${overview()}`)
  }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: argv,
      options: descriptors({ ...command.flags, config, help }),
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    const e = err as { code?: string; message: string }
    const flag = /'(-[^']*)'/.exec(e.message)?.[1]
    const known = Object.keys({ ...command.flags, config, help }).map((f) => `--${f}`)
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw usage(
        `unknown flag ${flag} for "airlock ${command.path}" (its flags: ${known.join(', ')}); see airlock ${command.path} --help`,
      )
    }
    throw usage(`${e.message.split('.')[0]} for "airlock ${command.path}"; see airlock ${command.path} --help`)
  }
  const flags = parsed.values as Flags
  if (flags.help) return { help: commandHelp(command) }
  const args = parsed.positionals.slice(command.path.split(' ').length)
  if (args.length < command.args.length) {
    throw usage(
      `airlock ${command.path} needs ${command.args.slice(args.length).join(' ')}; usage: ${usageLine(command)}`,
    )
  }
  if (args.length > command.args.length && !command.rest) {
    throw usage(
      `unexpected argument "${args[command.args.length]}" for "airlock ${command.path}"; usage: ${usageLine(command)}`,
    )
  }
  return { command, args, flags }
}
