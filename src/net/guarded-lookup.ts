import dns from 'node:dns'
import type { LookupAddress, LookupOptions } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { AppError } from '../errors.js'
import { AddressPolicy, parseHostLiteral, type AddressDecision } from './address-policy.js'

/**
 * DNS resolution with the address policy applied, shaped like `dns.lookup` so that
 * `net.connect`, `tls.connect`, `http.Agent`, `https.Agent` and undici's connector can use it
 * as their `lookup` option. The socket then connects to exactly the address that was checked:
 * there is no second resolution a DNS-rebinding answer could slip into.
 *
 * Mixed answers: if ANY resolved address is disallowed, the whole lookup is refused (rather than
 * silently connecting to the allowed subset). A name that answers both a public and a private
 * address is either misconfigured or an attack (rebinding tricks often pair a real record with a
 * 127.0.0.1 one); refusing also makes the outcome deterministic, independent of which address the
 * happy-eyeballs algorithm would try first.
 *
 * Literal IP hosts (in any spelling, `2130706433`, `0x7f.1`, `[::ffff:7f00:1]` …) are checked
 * without DNS. Note that Node's `net.connect` does not call `lookup` at all for a host that is
 * already a canonical IP address; the connectors in guarded-http.ts and s3-client.ts check
 * those themselves with `assertAddressAllowed`.
 */

export interface ResolvedAddress {
  address: string
  family: 4 | 6
}

/** Resolves a name to all of its addresses (family 0 = both). Injectable for tests. */
export type Resolver = (hostname: string, family: 0 | 4 | 6, hints?: number) => Promise<ResolvedAddress[]>

/** getaddrinfo via dns.lookup, so /etc/hosts (`localhost`) is honoured exactly as the OS would. */
export const systemResolver: Resolver = async (hostname, family, hints) => {
  const answers = await dns.promises.lookup(hostname, { all: true, family, verbatim: true, ...(hints ? { hints } : {}) })
  return answers.map(a => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
}

export interface GuardedLookupOptions {
  resolver?: Resolver
}

/** The AppError raised for a refused address; the message names the host, the address class and the address. */
export function targetNotAllowed (host: string, decision: AddressDecision, viaDns: boolean): AppError {
  const verb = viaDns ? 'resolves to' : 'is'
  return new AppError('TARGET_NOT_ALLOWED', `"${host}" ${verb} ${decision.reason ?? 'a disallowed address'}, which is not allowed`, {
    details: {
      host,
      address: decision.address,
      addressClass: decision.category,
      ...(decision.embeddedIPv4 !== undefined ? { embeddedIPv4: decision.embeddedIPv4 } : {}),
    },
  })
}

/** Throws TARGET_NOT_ALLOWED when `host` is an IP literal the policy refuses; returns the literal (or null for a name). */
export function assertLiteralAllowed (host: string, policy: AddressPolicy): ReturnType<typeof parseHostLiteral> {
  const literal = parseHostLiteral(host)
  if (literal === null) return null
  const decision = policy.check(literal.ip)
  if (!decision.allowed) throw targetNotAllowed(host, decision, false)
  return literal
}

function dnsError (code: string, hostname: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`getaddrinfo ${code} ${hostname}`)
  err.code = code
  err.syscall = 'getaddrinfo'
  ;(err as NodeJS.ErrnoException & { hostname: string }).hostname = hostname
  return err
}

/**
 * Resolves `hostname` and checks every answer. Resolves to the checked addresses (all allowed);
 * rejects with AppError TARGET_NOT_ALLOWED, or with the resolver's own error (ENOTFOUND, EAI_AGAIN …).
 */
export async function resolveAllowed (
  hostname: string,
  policy: AddressPolicy,
  options: { family?: 0 | 4 | 6, hints?: number, resolver?: Resolver } = {},
): Promise<ResolvedAddress[]> {
  const family = options.family ?? 0
  const literal = assertLiteralAllowed(hostname, policy)
  if (literal !== null) {
    if (family !== 0 && literal.family !== family) throw dnsError('ENOTFOUND', hostname)
    return [{ address: literal.ip, family: literal.family }]
  }
  const answers = await (options.resolver ?? systemResolver)(hostname, family, options.hints)
  if (answers.length === 0) throw dnsError('ENOTFOUND', hostname)
  for (const answer of answers) {
    const decision = policy.check(answer.address)
    if (!decision.allowed) throw targetNotAllowed(hostname, decision, true)
  }
  return answers
}

function normaliseFamily (family: LookupOptions['family']): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4
  if (family === 6 || family === 'IPv6') return 6
  return 0
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

/**
 * A `dns.lookup`-compatible function bound to `policy`. Honours `options.all` and
 * `options.family` (a bare number is taken as the family, as dns.lookup does).
 */
export function createGuardedLookup (policy: AddressPolicy, options: GuardedLookupOptions = {}): LookupFunction {
  function guardedLookup (hostname: string, opts: LookupOptions | number | LookupCallback, cb?: LookupCallback): void {
    let callback: LookupCallback
    let lookupOptions: LookupOptions
    if (typeof opts === 'function') {
      callback = opts
      lookupOptions = {}
    } else {
      callback = cb as LookupCallback
      lookupOptions = typeof opts === 'number' ? { family: opts } : (opts ?? {})
    }
    resolveAllowed(hostname, policy, {
      family: normaliseFamily(lookupOptions.family),
      hints: lookupOptions.hints,
      resolver: options.resolver,
    }).then(
      addresses => {
        if (lookupOptions.all === true) callback(null, addresses.map(a => ({ address: a.address, family: a.family })))
        else callback(null, addresses[0].address, addresses[0].family)
      },
      (err: NodeJS.ErrnoException) => callback(err, lookupOptions.all === true ? [] : '', undefined),
    )
  }
  return guardedLookup as LookupFunction
}
