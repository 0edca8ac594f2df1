import http from 'node:http'
import https from 'node:https'
import type { Duplex } from 'node:stream'
import type { AddressPolicy } from './address-policy.js'
import { assertLiteralAllowed, createGuardedLookup, type Resolver } from './guarded-lookup.js'

/*
 * Node http/https agents on the guarded path, for SDK clients that take an agent (S3, Azure Blob):
 * host names are checked by the guarded lookup at every connection, IP literals here.
 */

const MAX_SOCKETS = 50

type ConnectCallback = (err: Error | null, stream: Duplex) => void

function refuseLiteral (host: string | null | undefined, policy: AddressPolicy, callback: ConnectCallback | undefined): boolean {
  if (!host) return false
  try {
    assertLiteralAllowed(host, policy)
    return false
  } catch (err) {
    if (callback) callback(err as Error, undefined as unknown as Duplex)
    else throw err
    return true
  }
}

class GuardedHttpAgent extends http.Agent {
  constructor (private readonly policy: AddressPolicy, options: http.AgentOptions) {
    super(options)
  }

  override createConnection (options: http.ClientRequestArgs, callback?: ConnectCallback): Duplex | null | undefined {
    if (refuseLiteral(options.host ?? options.hostname, this.policy, callback)) return undefined
    return super.createConnection(options, callback)
  }
}

class GuardedHttpsAgent extends https.Agent {
  constructor (private readonly policy: AddressPolicy, options: https.AgentOptions) {
    super(options)
  }

  override createConnection (options: https.RequestOptions, callback?: ConnectCallback): Duplex | null | undefined {
    if (refuseLiteral(options.host ?? options.hostname, this.policy, callback)) return undefined
    return super.createConnection(options, callback)
  }
}

/** The http/https agents of the guarded path (exported for other SDK-style clients). */
export function createGuardedAgents (policy: AddressPolicy, options: { resolver?: Resolver } = {}): { httpAgent: http.Agent, httpsAgent: https.Agent } {
  const lookup = createGuardedLookup(policy, { resolver: options.resolver })
  return {
    httpAgent: new GuardedHttpAgent(policy, { keepAlive: true, maxSockets: MAX_SOCKETS, lookup }),
    httpsAgent: new GuardedHttpsAgent(policy, { keepAlive: true, maxSockets: MAX_SOCKETS, lookup }),
  }
}

/** The endpoint without user-info, query or fragment, for messages. */
export function safeEndpoint (endpoint: string): string {
  try {
    const url = new URL(endpoint)
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`
  } catch {
    return '(invalid URL)'
  }
}
