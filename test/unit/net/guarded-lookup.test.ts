import net from 'node:net'
import type { LookupAddress } from 'node:dns'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AddressPolicy } from '../../../src/net/address-policy.js'
import { createGuardedLookup, resolveAllowed, type Resolver } from '../../../src/net/guarded-lookup.js'
import { AppError } from '../../../src/errors.js'

const strict = new AddressPolicy([])
const local = new AddressPolicy(['127.0.0.0/8', '::1/128'])

/** a fake DNS: name → answers (the test sandbox has no real DNS for these names) */
function fakeResolver (table: Record<string, Array<[string, 4 | 6]>>): Resolver & { calls: string[] } {
  const calls: string[] = []
  const resolver = async (hostname: string, family: 0 | 4 | 6) => {
    calls.push(hostname)
    const answers = table[hostname]
    if (answers === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
    return answers.filter(([, f]) => family === 0 || f === family).map(([address, f]) => ({ address, family: f }))
  }
  return Object.assign(resolver, { calls })
}

const dns = fakeResolver({
  'public.example': [['93.184.215.14', 4], ['2606:2800:21f:cb07:6820:80da:af6b:8b2c', 6]],
  'metadata.google.internal': [['169.254.169.254', 4]],
  'instance-data.ec2.internal': [['169.254.169.254', 4], ['fd00:ec2::254', 6]],
  '127.0.0.1.nip.io': [['127.0.0.1', 4]],
  'rebind.example': [['93.184.215.14', 4], ['127.0.0.1', 4]],
  'mapped.example': [['::ffff:10.0.0.5', 6]],
  'nat64.example': [['64:ff9b::a9fe:a9fe', 6]],
  'empty.example': [],
})

function lookup (
  policy: AddressPolicy,
  host: string,
  options: object
): Promise<{ err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number }> {
  const fn = createGuardedLookup(policy, { resolver: dns })
  return new Promise(resolve => fn(host, options, (err, address, family) => resolve({ err, address, family })))
}

describe('resolveAllowed', () => {
  it('returns every checked address of a public name', async () => {
    await expect(resolveAllowed('public.example', strict, { resolver: dns })).resolves.toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ])
  })

  it.each([
    ['metadata.google.internal', 'cloudMetadata', '169.254.169.254'],
    ['instance-data.ec2.internal', 'cloudMetadata', '169.254.169.254'],
    ['127.0.0.1.nip.io', 'loopback', '127.0.0.1'],
    ['mapped.example', 'private', '::ffff:a00:5'],
    ['nat64.example', 'cloudMetadata', '64:ff9b::a9fe:a9fe'],
  ])('refuses %s (resolves to %s)', async (host, addressClass, address) => {
    const err = await resolveAllowed(host, strict, { resolver: dns }).catch(e => e)
    expect(err).toBeInstanceOf(AppError)
    expect(err).toMatchObject({ code: 'TARGET_NOT_ALLOWED', details: { host, address, addressClass } })
    expect(err.message).toMatch(new RegExp(`^"${host.replace(/\./g, '\\.')}" resolves to .*, which is not allowed$`))
  })

  it('refuses a name when ANY of its addresses is disallowed (mixed answers / rebinding)', async () => {
    const err = await resolveAllowed('rebind.example', strict, { resolver: dns }).catch(e => e)
    expect(err).toMatchObject({ code: 'TARGET_NOT_ALLOWED', message: '"rebind.example" resolves to a loopback address (127.0.0.1), which is not allowed' })
  })

  it('checks IP literals in any spelling without asking DNS', async () => {
    dns.calls.length = 0
    for (const host of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '[::1]', '::ffff:127.0.0.1', '[64:ff9b::7f00:1]']) {
      const err = await resolveAllowed(host, strict, { resolver: dns }).catch(e => e)
      expect(err, host).toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
      expect(err.message, host).toMatch(/" is a loopback address/)
    }
    await expect(resolveAllowed('0x7f.1', local, { resolver: dns })).resolves.toEqual([{ address: '127.0.0.1', family: 4 }])
    await expect(resolveAllowed('8.8.8.8', strict, { resolver: dns })).resolves.toEqual([{ address: '8.8.8.8', family: 4 }])
    expect(dns.calls).toEqual([])
  })

  it('passes DNS failures through as the resolver reported them', async () => {
    await expect(resolveAllowed('nxdomain.example', strict, { resolver: dns })).rejects.toMatchObject({ code: 'ENOTFOUND' })
    await expect(resolveAllowed('empty.example', strict, { resolver: dns })).rejects.toMatchObject({ code: 'ENOTFOUND' })
  })

  it('resolves localhost through the system resolver (/etc/hosts) and refuses it', async () => {
    await expect(resolveAllowed('localhost', strict)).rejects.toMatchObject({
      code: 'TARGET_NOT_ALLOWED',
      message: expect.stringMatching(/^"localhost" resolves to a loopback address \((127\.0\.0\.1|::1)\), which is not allowed$/),
    })
    const allowed = await resolveAllowed('localhost', local)
    expect(allowed.length).toBeGreaterThan(0)
  })
})

describe('createGuardedLookup (dns.lookup shape)', () => {
  it('answers { all: true } with an address list', async () => {
    const res = await lookup(strict, 'public.example', { all: true })
    expect(res.err).toBeNull()
    expect(res.address).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ])
  })

  it('answers a single address and family otherwise, honouring the family option (also as a bare number)', async () => {
    expect(await lookup(strict, 'public.example', {})).toMatchObject({ err: null, address: '93.184.215.14', family: 4 })
    expect(await lookup(strict, 'public.example', { family: 6 })).toMatchObject({ err: null, address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 })
    const fn = createGuardedLookup(strict, { resolver: dns })
    const withNumericFamily = fn as unknown as (h: string, f: number, cb: (...a: unknown[]) => void) => void
    const viaNumber = await new Promise(resolve => withNumericFamily('public.example', 6, (...args) => resolve(args)))
    expect(viaNumber).toEqual([null, '2606:2800:21f:cb07:6820:80da:af6b:8b2c', 6])
  })

  it('reports a refusal as the callback error', async () => {
    const res = await lookup(strict, 'metadata.google.internal', { all: true })
    expect(res.err).toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
  })

  describe('as net.connect({ lookup })', () => {
    let server: net.Server
    let port: number
    let connections = 0
    beforeAll(async () => {
      server = net.createServer(socket => { connections++; socket.end() })
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      port = (server.address() as net.AddressInfo).port
    })
    afterAll(() => new Promise<void>(resolve => server.close(() => resolve())))

    const connect = (policy: AddressPolicy, host: string) => new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host, port, lookup: createGuardedLookup(policy, { resolver: dns }) })
      socket.on('connect', () => { resolve(socket.remoteAddress ?? ''); socket.destroy() })
      socket.on('error', reject)
    })

    it('refuses a name resolving to 127.0.0.1 before any socket connects', async () => {
      await expect(connect(strict, '127.0.0.1.nip.io')).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
      expect(connections).toBe(0)
    })

    it('connects to exactly the checked address when allowed', async () => {
      await expect(connect(local, '127.0.0.1.nip.io')).resolves.toBe('127.0.0.1')
    })
  })
})
