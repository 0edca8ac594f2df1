import { describe, expect, it } from 'vitest'
import { AddressPolicy, parseHostLiteral } from '../../../src/net/address-policy.js'

const strict = new AddressPolicy([])

/** host as written (raw or inside a URL) → canonical IP, then the policy */
function checkHost (policy: AddressPolicy, host: string) {
  const literal = parseHostLiteral(host)
  expect(literal, `${host} should be recognised as an IP literal`).not.toBeNull()
  return policy.check(literal!.ip)
}

describe('parseHostLiteral', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0X7F000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0177.0000.0.01', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0x7f.0x0.0x0.0x1', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0x', '0.0.0.0'],
    ['3232235521', '192.168.0.1'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['169.254.43518', '169.254.169.254'],
    ['025177524776', '169.254.169.254'],
  ])('IPv4 spelling %s → %s', (raw, ip) => {
    expect(parseHostLiteral(raw)).toEqual({ ip, family: 4 })
  })

  it.each([
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[::]', '::'],
    ['[0:0:0:0:0:0:0:0]', '::'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['[::ffff:7f00:1]', '::ffff:7f00:1'],
    ['[64:ff9b::127.0.0.1]', '64:ff9b::7f00:1'],
    ['[2002:7f00:1::]', '2002:7f00:1::'],
    ['[FE80::1]', 'fe80::1'],
  ])('IPv6 spelling %s → %s', (raw, ip) => {
    expect(parseHostLiteral(raw)).toEqual({ ip, family: 6 })
  })

  it('keeps zone ids apart (raw %eth0 and URL-encoded %25eth0)', () => {
    expect(parseHostLiteral('fe80::1%eth0')).toEqual({ ip: 'fe80::1', family: 6, zone: 'eth0' })
    expect(parseHostLiteral('[fe80::1%25eth0]')).toEqual({ ip: 'fe80::1', family: 6, zone: 'eth0' })
  })

  it.each([
    'example.com', 'localhost', '127.0.0.1.nip.io', '1.2.3.4.5', '256.1.1.1', '1.2.3.0x100', '08.1.1.1', '0x1g', 'foo.123', '[example.com]', '', '1..2',
  ])(
    '%s is not an IP literal', host => {
      expect(parseHostLiteral(host)).toBeNull()
    })

  it('agrees with the WHATWG URL parser, which already normalises IPv4 spellings', () => {
    for (const raw of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '0x7f.1']) {
      const hostname = new URL(`http://${raw}/`).hostname
      expect(hostname).toBe('127.0.0.1')
      expect(parseHostLiteral(hostname)?.ip).toBe(parseHostLiteral(raw)?.ip)
    }
    expect(parseHostLiteral(new URL('http://[::ffff:127.0.0.1]/').hostname)?.ip).toBe('::ffff:7f00:1')
  })
})

describe('AddressPolicy (no allow-list)', () => {
  it.each([
    // [host as written, expected category]
    ['2130706433', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.255', 'carrierGradeNat'],
    ['100.100.100.200', 'cloudMetadata'],
    ['169.254.169.254', 'cloudMetadata'],
    ['0xa9fea9fe', 'cloudMetadata'],
    ['169.254.0.1', 'linkLocal'],
    ['168.63.129.16', 'cloudMetadata'],
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['192.88.99.1', 'reserved'],
    ['[::1]', 'loopback'],
    ['[::]', 'unspecified'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['[::ffff:a9fe:a9fe]', 'cloudMetadata'],
    ['[::ffff:10.0.0.1]', 'private'],
    ['[::ffff:0:7f00:1]', 'loopback'],
    ['[64:ff9b::7f00:1]', 'loopback'],
    ['[64:ff9b::a9fe:a9fe]', 'cloudMetadata'],
    ['[64:ff9b::192.168.0.1]', 'private'],
    ['[64:ff9b:1::1]', 'nat64Local'],
    ['[64:ff9b:1::808:808]', 'nat64Local'],
    ['[2002:7f00:1::]', 'loopback'],
    ['[2002:7f00:1::1]', 'loopback'],
    ['[2002:a9fe:a9fe::1]', 'cloudMetadata'],
    ['[2002:808:808::1]', '6to4'],
    ['[::127.0.0.1]', 'loopback'],
    ['[::8.8.8.8]', 'ipv4Compatible'],
    ['[2001::1]', 'teredo'],
    ['[2001:0:4136:e378:8000:63bf:3fff:fdd2]', 'teredo'],
    ['[2001:db8::1]', 'documentation'],
    ['[2001:2::1]', 'benchmarking'],
    ['[2001:10::1]', 'reserved'],
    ['[3fff::1]', 'documentation'],
    ['[fc00::]', 'uniqueLocal'],
    ['[fc00::1]', 'uniqueLocal'],
    ['[fd12:3456::1]', 'uniqueLocal'],
    ['[fd00:ec2::254]', 'cloudMetadata'],
    ['[fe80::]', 'linkLocal'],
    ['[fe80::1%25eth0]', 'linkLocal'],
    ['[febf::1]', 'linkLocal'],
    ['[fec0::1]', 'siteLocal'],
    ['[ff02::1]', 'multicast'],
    ['[ff05::1:3]', 'multicast'],
    ['[100::1]', 'discard'],
    ['[5f00::1]', 'reserved'],
    ['[4000::1]', 'nonGlobal'],
  ])('refuses %s (%s)', (host, category) => {
    const decision = checkHost(strict, host)
    expect(decision.allowed).toBe(false)
    expect(decision.category).toBe(category)
    expect(decision.reason).toMatch(/address/)
  })

  it.each(['8.8.8.8', '1.1.1.1', '93.184.215.14', '172.32.0.1', '172.15.255.255', '100.128.0.1', '192.169.0.1', '11.0.0.1',
    '[2606:4700:4700::1111]', '[2a00:1450:4001:80b::200e]', '[::ffff:8.8.8.8]', '[64:ff9b::808:808]'])(
    'allows public address %s', host => {
      const decision = checkHost(strict, host)
      expect(decision).toMatchObject({ allowed: true, category: 'public' })
      expect(decision.reason).toBeUndefined()
    })

  it('names the class and the address in the reason, including the embedded IPv4', () => {
    expect(strict.check('127.0.0.1').reason).toBe('a loopback address (127.0.0.1)')
    expect(strict.check('169.254.169.254').reason).toBe('a cloud metadata service address (169.254.169.254)')
    expect(strict.check('::ffff:127.0.0.1')).toMatchObject({
      embeddedIPv4: '127.0.0.1',
      reason: 'a loopback address (127.0.0.1 as IPv4-mapped IPv6 ::ffff:7f00:1)',
    })
    expect(strict.check('64:ff9b::a9fe:a9fe').reason).toBe('a cloud metadata service address (169.254.169.254 as NAT64 64:ff9b::a9fe:a9fe)')
    expect(strict.check('2002:808:808::1').reason).toBe('a 6to4 tunnel address (2002:808:808::1)')
  })

  it('checks the parsed address, not the string (resolver output with a zone id or odd spelling)', () => {
    expect(strict.check('fe80::1%eth0').allowed).toBe(false)
    expect(strict.check('0:0:0:0:0:ffff:7f00:0001').category).toBe('loopback')
    expect(strict.check('::FFFF:127.0.0.1').category).toBe('loopback')
  })

  it('refuses strings that are not addresses', () => {
    expect(strict.check('localhost')).toMatchObject({ allowed: false, category: 'invalid' })
    expect(strict.check('')).toMatchObject({ allowed: false, category: 'invalid' })
  })
})

describe('AddressPolicy allow-list', () => {
  const local = new AddressPolicy(['127.0.0.0/8', '::1/128'])

  it('opens 127.0.0.0/8 and ::1/128, in every spelling, and says which rule allowed it', () => {
    for (const host of ['127.0.0.1', '127.1', '2130706433', '0x7f000001', '127.9.9.9']) {
      expect(checkHost(local, host)).toMatchObject({ allowed: true, category: 'loopback', allowedBy: '127.0.0.0/8' })
    }
    expect(checkHost(local, '[::1]')).toMatchObject({ allowed: true, allowedBy: '::1/128' })
  })

  it('applies an IPv4 rule to the IPv4 embedded in mapped and NAT64 forms', () => {
    expect(checkHost(local, '[::ffff:127.0.0.1]')).toMatchObject({ allowed: true, allowedBy: '127.0.0.0/8', embeddedIPv4: '127.0.0.1' })
    expect(checkHost(local, '[64:ff9b::7f00:1]')).toMatchObject({ allowed: true, allowedBy: '127.0.0.0/8' })
  })

  it('opens nothing else', () => {
    for (const host of ['10.0.0.1', '169.254.169.254', '[::]', '0.0.0.0', '[::ffff:10.0.0.1]', '[fe80::1]', '[2002:7f00:1::]']) {
      expect(checkHost(local, host).allowed, host).toBe(false)
    }
  })

  it('an IPv6 rule matches the IPv6 form as written', () => {
    const ula = new AddressPolicy(['fd00::/8'])
    expect(ula.check('fd12::1')).toMatchObject({ allowed: true, allowedBy: 'fd00::/8' })
    expect(ula.check('fc00::1').allowed).toBe(false)
    const mapped = new AddressPolicy(['::ffff:10.0.0.0/104'])
    expect(mapped.check('::ffff:10.1.2.3').allowed).toBe(true)
    expect(mapped.check('10.1.2.3').allowed).toBe(false)
  })

  it('a public address is allowed without naming a rule', () => {
    expect(local.check('8.8.8.8')).toEqual({ allowed: true, address: '8.8.8.8', category: 'public' })
  })

  it('rejects a malformed CIDR at construction', () => {
    expect(() => new AddressPolicy(['127.0.0.1'])).toThrow(/not a CIDR/)
    expect(() => new AddressPolicy(['nonsense/8'])).toThrow(/not a CIDR/)
  })

  it('reports whether it is strict', () => {
    expect(strict.strict).toBe(true)
    expect(local.strict).toBe(false)
  })
})
