// Reads the config file from disk; relative paths in it are relative to the file, not to the working directory.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseConfig } from '../core/config/load.ts'
import type { Config } from '../core/config/schema.ts'
import { AirlockError } from '../core/errors.ts'
import { repoRoot } from './toolchain/opa.ts'

export const DEFAULT_CONFIG = process.env.AIRLOCK_CONFIG ?? resolve(repoRoot, 'config/airlock.yaml')

export function readConfigFile(path: string = DEFAULT_CONFIG): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new AirlockError('AIRLOCK_CONFIG_UNREADABLE', `cannot read config file ${path}: ${(err as Error).message}`)
  }
  const config = parseConfig(text, path)
  const base = dirname(resolve(path))
  config.data_dir = resolve(base, config.data_dir)
  config.policy.dir = resolve(base, config.policy.dir)
  config.policy.source = resolve(base, config.policy.source)
  if (config.policy.shadow) config.policy.shadow.dir = resolve(base, config.policy.shadow.dir)
  return config
}
