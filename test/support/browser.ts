// Real-browser tests: Debian's chromium driven by playwright-core (headless). Screenshots go to
// test-artifacts/screenshots/ (gitignored; CI keeps the folder as an artifact, see docs/approvals.md).
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { repoRoot } from '../../gateway/node/toolchain/opa.ts'

export const CHROMIUM = process.env.AIRLOCK_CHROMIUM ?? '/usr/bin/chromium'
export const SCREENSHOTS = join(repoRoot, 'test-artifacts/screenshots')

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set AIRLOCK_CHROMIUM`,
    )
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}
