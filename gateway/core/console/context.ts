// What every console page is rendered with: the service (the same one the approver API uses), the configuration,
// the signed-in approver and their session's CSRF token.
import type { ApproverConfig, Config } from '../config/schema.ts'
import type { HoldService } from '../holds/service.ts'
import type { Shell } from './layout.ts'

export interface Seat {
  service: HoldService
  config: Config
  approver: ApproverConfig
  csrf: string
  now: number
}

export function shellFor(seat: Seat, title: string, current: Shell['current'], notice?: Shell['notice']): Shell {
  return { title, current, notice, approver: { id: seat.approver.id, groups: seat.approver.groups, csrf: seat.csrf } }
}
