import type { Deps } from '../deps.js'
import { resolveAllowed } from '../net/guarded-lookup.js'
import type { SecretType } from '../vault/secret.js'
import type { Checklist } from './checklist.js'

/** The host of a URL as the resolver takes it (an IPv6 literal without its brackets). */
export const hostOfUrl = (url: string): string => new URL(url).hostname.replace(/^\[|\]$/g, '')

/** The Test step `name`: the vault entry `id` decrypts as a `type` secret; `message` says so. */
export function checkSecretResolves (
  deps: Pick<Deps, 'db' | 'vault'>, list: Checklist, name: string, orgId: string, secret: { id: string, type: SecretType }, message: string,
): Promise<unknown> {
  return list.step(name, async () => {
    await deps.vault.withSecret(deps.db, orgId, secret.id, secret.type, async () => {})
    return { message }
  })
}

/** The Test step `name` every networked kind takes before it connects: `host` resolves to addresses the network policy allows. */
export function checkHostAllowed (deps: Pick<Deps, 'policy'>, list: Checklist, name: string, host: string): Promise<unknown> {
  return list.step(name, async () => {
    const addresses = await resolveAllowed(host, deps.policy)
    return { message: `${host} resolves to an allowed address (${addresses.map(a => a.address).join(', ')}).` }
  })
}
