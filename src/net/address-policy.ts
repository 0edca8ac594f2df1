import ipaddr from 'ipaddr.js'

/**
 * Which IP addresses a customer-supplied target (webhook URL, S3 endpoint, channel URL,
 * validation ping) may connect to.
 *
 * Decisions are made on the parsed address, never on the host string: ipaddr.js parses the
 * address, IPv4 addresses carried inside IPv6 forms (IPv4-mapped, NAT64) are checked as the
 * IPv4 address they reach, and the verdict comes from explicit CIDR tables plus ipaddr.js's
 * own `range()` classification (anything it does not call `unicast` is refused).
 *
 * Refused by default (each can be opted back in with an allow-list CIDR, see below):
 *  IPv4: 0/8, 10/8, 100.64/10 (CGNAT, incl. Alibaba metadata 100.100.100.200), 127/8,
 *        169.254/16 (incl. cloud metadata 169.254.169.254), 168.63.129.16 (Azure WireServer),
 *        172.16/12, 192.0.0/24, 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15,
 *        198.51.100/24, 203.0.113/24, 224/4, 240/4, 255.255.255.255, plus whatever else
 *        ipaddr.js does not classify as unicast (AS112, AMT, …).
 *  IPv6: ::, ::1, ::a.b.c.d (IPv4-compatible, deprecated), 64:ff9b:1::/48 (local-use NAT64),
 *        100::/64, 2001::/23 (IETF protocol assignments, incl. Teredo 2001::/32 and
 *        benchmarking 2001:2::/48), 2001:db8::/32, 3fff::/20 (documentation), 2002::/16 (6to4),
 *        fc00::/7 (ULA, incl. AWS IMDS fd00:ec2::254), fe80::/10, fec0::/10, ff00::/8, and
 *        everything outside 2000::/3 (the only IPv6 space allocated for global unicast).
 *  Checked as their embedded IPv4 address: ::ffff:a.b.c.d (IPv4-mapped), ::ffff:0:a.b.c.d
 *        (RFC 6145) and 64:ff9b::a.b.c.d (well-known NAT64 prefix: DNS64 on IPv6-only hosts
 *        synthesises these for ordinary public IPv4 sites, so a public embedded IPv4 is allowed).
 *  6to4 and Teredo are refused even when the embedded IPv4 is public: both are deprecated
 *        tunnels whose far end we do not control; for 6to4 (and IPv4-compatible) the refusal
 *        names the embedded IPv4 address when that one is itself disallowed.
 *
 * Allow-list (`FERRY_ALLOW_PRIVATE_NETWORKS`): an address inside any allow CIDR of its own
 * family is allowed. An IPv4 CIDR also covers the IPv4 address embedded in the forms that
 * are checked as their embedded IPv4 (mapped / RFC 6145 / NAT64), so `127.0.0.0/8` lets
 * `::ffff:127.0.0.1` through as well. An IPv6 CIDR matches the IPv6 form as written
 * (`2002::/16` would re-open 6to4).
 */

export type AddressCategory =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'carrierGradeNat'
  | 'linkLocal'
  | 'cloudMetadata'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'uniqueLocal'
  | 'siteLocal'
  | 'ipv4Compatible'
  | 'nat64Local'
  | '6to4'
  | 'teredo'
  | 'discard'
  | 'nonGlobal'
  | 'invalid'

export interface AddressDecision {
  allowed: boolean
  /** the address in canonical form (IPv6 compressed, no zone id) */
  address: string
  /** IPv4 address this one reaches when it is an IPv4-in-IPv6 form (mapped, NAT64, 6to4, …) */
  embeddedIPv4?: string
  /** what kind of address this is; for IPv4-in-IPv6 forms, the kind of the embedded IPv4 when that one decides */
  category: AddressCategory
  /** set when refused: a phrase such as "a loopback address (127.0.0.1)", ready for "… is/resolves to …, which is not allowed" */
  reason?: string
  /** set when allowed only because an allow-list CIDR matched */
  allowedBy?: string
}

const CATEGORY_LABEL: Record<AddressCategory, string> = {
  public: 'a public address',
  unspecified: 'an unspecified ("this network") address',
  loopback: 'a loopback address',
  private: 'a private-network address',
  carrierGradeNat: 'a carrier-grade NAT (shared) address',
  linkLocal: 'a link-local address',
  cloudMetadata: 'a cloud metadata service address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  documentation: 'a documentation-only address',
  benchmarking: 'a benchmarking address',
  uniqueLocal: 'a unique-local (private) IPv6 address',
  siteLocal: 'a site-local IPv6 address',
  ipv4Compatible: 'a deprecated IPv4-compatible IPv6 address',
  nat64Local: 'a local-use NAT64 address',
  '6to4': 'a 6to4 tunnel address',
  teredo: 'a Teredo tunnel address',
  discard: 'a discard-only address',
  nonGlobal: 'an IPv6 address outside the global unicast range',
  invalid: 'not a valid IP address',
}

export function describeCategory (category: AddressCategory): string {
  return CATEGORY_LABEL[category]
}

type CidrRow = readonly [cidr: string, category: AddressCategory]

/** Checked first to last; the first match decides the label. Specific entries come before their enclosing range. */
const IPV4_DENY: readonly CidrRow[] = [
  ['169.254.169.254/32', 'cloudMetadata'], // AWS/GCP/Azure/OpenStack/Oracle instance metadata
  ['168.63.129.16/32', 'cloudMetadata'], // Azure WireServer
  ['100.100.100.200/32', 'cloudMetadata'], // Alibaba Cloud metadata
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrierGradeNat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'linkLocal'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'documentation'], // TEST-NET-1
  ['192.88.99.0/24', 'reserved'], // 6to4 relay anycast (deprecated)
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'], // TEST-NET-2
  ['203.0.113.0/24', 'documentation'], // TEST-NET-3
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
]

/** IPv6 ranges refused outright (the IPv4-in-IPv6 forms are handled before this table). */
const IPV6_DENY: readonly CidrRow[] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fd00:ec2::254/128', 'cloudMetadata'], // AWS IMDS over IPv6 (inside fc00::/7 anyway)
  ['64:ff9b:1::/48', 'nat64Local'],
  ['100::/64', 'discard'],
  ['2001::/32', 'teredo'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:db8::/32', 'documentation'],
  ['2001::/23', 'reserved'], // IETF protocol assignments (ORCHID, AMT, AS112, …)
  ['2002::/16', '6to4'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'uniqueLocal'],
  ['fe80::/10', 'linkLocal'],
  ['fec0::/10', 'siteLocal'],
  ['ff00::/8', 'multicast'],
]

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3')

/** ipaddr.js range names → our categories (used when no table row matched but ipaddr says "not unicast"). */
const IPADDR_RANGE_CATEGORY: Record<string, AddressCategory> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'linkLocal',
  loopback: 'loopback',
  carrierGradeNat: 'carrierGradeNat',
  private: 'private',
  reserved: 'reserved',
  benchmarking: 'benchmarking',
  uniqueLocal: 'uniqueLocal',
  deprecatedSiteLocal: 'siteLocal',
  discard: 'discard',
  '6to4': '6to4',
  teredo: 'teredo',
}

type Parsed = ipaddr.IPv4 | ipaddr.IPv6
type Cidr = [Parsed, number]

interface CompiledRow { range: Cidr, category: AddressCategory }

const compile = (rows: readonly CidrRow[]): CompiledRow[] =>
  rows.map(([cidr, category]) => ({ range: ipaddr.parseCIDR(cidr), category }))

const V4_TABLE = compile(IPV4_DENY)
const V6_TABLE = compile(IPV6_DENY)

function matches (addr: Parsed, range: Cidr): boolean {
  return addr.kind() === range[0].kind() && (addr as ipaddr.IPv4).match(range as [ipaddr.IPv4, number])
}

function v4FromWords (hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff])
}

type EmbeddedForm = 'mapped' | 'nat64' | 'compat' | '6to4'

const FORM_LABEL: Record<EmbeddedForm, string> = {
  mapped: 'IPv4-mapped IPv6',
  nat64: 'NAT64',
  compat: 'IPv4-compatible IPv6',
  '6to4': '6to4',
}

/** The IPv4 address an IPv6 address carries, and in which form. */
function embeddedIPv4 (addr: ipaddr.IPv6): { form: EmbeddedForm, v4: ipaddr.IPv4 } | undefined {
  const p = addr.parts
  // ::ffff:a.b.c.d (IPv4-mapped) and ::ffff:0:a.b.c.d (RFC 6145 IPv4-translated)
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 &&
      ((p[4] === 0 && p[5] === 0xffff) || (p[4] === 0xffff && p[5] === 0))) {
    return { form: 'mapped', v4: v4FromWords(p[6], p[7]) }
  }
  // ::a.b.c.d (IPv4-compatible, deprecated); :: and ::1 are left to the table
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0 && (p[6] !== 0 || p[7] > 1)) {
    return { form: 'compat', v4: v4FromWords(p[6], p[7]) }
  }
  // 64:ff9b::/96 well-known NAT64 prefix (RFC 6052)
  if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0) {
    return { form: 'nat64', v4: v4FromWords(p[6], p[7]) }
  }
  // 2002:V4HI:V4LO::/48 6to4
  if (p[0] === 0x2002) return { form: '6to4', v4: v4FromWords(p[1], p[2]) }
  // Teredo (2001::/32) also carries IPv4 addresses (server, obfuscated client NAT address), but it
  // is refused as a whole by the table, so they are not unpacked here.
  return undefined
}

/**
 * Parses an IPv6 address. A dotted IPv4 tail is converted to two hex groups first: ipaddr.js
 * would read `::a.b.c.d` (IPv4-compatible, i.e. ::0a0b:0c0d) as if it were `::ffff:a.b.c.d`.
 */
function parseIPv6 (text: string): ipaddr.IPv6 | undefined {
  let s = text
  const lastColon = s.lastIndexOf(':')
  const tail = s.slice(lastColon + 1)
  if (tail.includes('.')) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(tail) || !ipaddr.IPv4.isValidFourPartDecimal(tail)) return undefined
    const [a, b, c, d] = tail.split('.').map(Number)
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  if (!ipaddr.IPv6.isValid(s)) return undefined
  return ipaddr.IPv6.parse(s)
}

function parseAddress (text: string): Parsed | undefined {
  if (text.includes(':')) return parseIPv6(text)
  return ipaddr.IPv4.isValid(text) ? ipaddr.IPv4.parse(text) : undefined
}

function stripZone (ip: string): string {
  const pct = ip.indexOf('%')
  return pct === -1 ? ip : ip.slice(0, pct)
}

export class AddressPolicy {
  private readonly allowV4: Array<{ cidr: string, range: Cidr }>
  private readonly allowV6: Array<{ cidr: string, range: Cidr }>

  /** @param allowCidrs CIDR ranges that are allowed even though they are private/loopback/…; invalid entries throw */
  constructor (allowCidrs: readonly string[] = []) {
    this.allowV4 = []
    this.allowV6 = []
    for (const raw of allowCidrs) {
      const cidr = raw.trim()
      if (cidr === '') continue
      let range: Cidr
      try {
        range = ipaddr.parseCIDR(cidr)
      } catch {
        throw new Error(`"${cidr}" is not a CIDR range such as 127.0.0.0/8 or ::1/128`)
      }
      ;(range[0].kind() === 'ipv4' ? this.allowV4 : this.allowV6).push({ cidr, range })
    }
  }

  /** true when no allow-list is configured (the default, fully guarded mode) */
  get strict (): boolean {
    return this.allowV4.length === 0 && this.allowV6.length === 0
  }

  /**
   * Checks one IP address given as a string. Accepts the canonical forms a resolver returns
   * and the odd IPv4 spellings ipaddr.js understands; an IPv6 zone id (`fe80::1%eth0`) is ignored.
   * A string that is not an IP address is refused (category `invalid`).
   */
  check (ip: string): AddressDecision {
    const addr = parseAddress(stripZone(ip.trim().replace(/^\[(.*)\]$/, '$1')))
    if (addr === undefined) return { allowed: false, address: ip, category: 'invalid', reason: `not a valid IP address ("${ip}")` }
    return addr.kind() === 'ipv4' ? this.checkV4(addr as ipaddr.IPv4) : this.checkV6(addr as ipaddr.IPv6)
  }

  private allowedByV4 (addr: ipaddr.IPv4): string | undefined {
    return this.allowV4.find(rule => matches(addr, rule.range))?.cidr
  }

  private checkV4 (addr: ipaddr.IPv4): AddressDecision {
    const address = addr.toString()
    const allowedBy = this.allowedByV4(addr)
    const category = classifyV4(addr)
    if (allowedBy !== undefined) return { allowed: true, address, category, ...(category === 'public' ? {} : { allowedBy }) }
    if (category === 'public') return { allowed: true, address, category }
    return { allowed: false, address, category, reason: `${CATEGORY_LABEL[category]} (${address})` }
  }

  private checkV6 (addr: ipaddr.IPv6): AddressDecision {
    const address = addr.toNormalizedString() === '0:0:0:0:0:0:0:0' ? '::' : addr.toString()
    const allowedBy = this.allowV6.find(rule => matches(addr, rule.range))?.cidr
    const embedded = embeddedIPv4(addr)

    if (embedded !== undefined) {
      const v4 = embedded.v4.toString()
      const inner = this.checkV4(embedded.v4)
      const via = `${v4} as ${FORM_LABEL[embedded.form]} ${address}`
      if (embedded.form === 'mapped' || embedded.form === 'nat64') {
        // these reach exactly the embedded IPv4 address: its verdict is theirs
        if (allowedBy !== undefined) return { allowed: true, address, embeddedIPv4: v4, category: inner.category, allowedBy }
        if (inner.allowed) return { ...inner, address, embeddedIPv4: v4 }
        return { allowed: false, address, embeddedIPv4: v4, category: inner.category, reason: `${CATEGORY_LABEL[inner.category]} (${via})` }
      }
      // compat / 6to4: refused whatever they embed
      const category: AddressCategory = embedded.form === 'compat' ? 'ipv4Compatible' : embedded.form
      if (allowedBy !== undefined) return { allowed: true, address, embeddedIPv4: v4, category, allowedBy }
      const reason = inner.allowed
        ? `${CATEGORY_LABEL[category]} (${address})`
        : `${CATEGORY_LABEL[inner.category]} (${via})`
      return { allowed: false, address, embeddedIPv4: v4, category: inner.allowed ? category : inner.category, reason }
    }

    const category = classifyV6(addr)
    if (allowedBy !== undefined) return { allowed: true, address, category, ...(category === 'public' ? {} : { allowedBy }) }
    if (category === 'public') return { allowed: true, address, category }
    return { allowed: false, address, category, reason: `${CATEGORY_LABEL[category]} (${address})` }
  }
}

function classifyV4 (addr: ipaddr.IPv4): AddressCategory {
  const row = V4_TABLE.find(r => matches(addr, r.range))
  if (row !== undefined) return row.category
  const range = addr.range()
  if (range !== 'unicast') return IPADDR_RANGE_CATEGORY[range] ?? 'reserved'
  return 'public'
}

function classifyV6 (addr: ipaddr.IPv6): AddressCategory {
  const row = V6_TABLE.find(r => matches(addr, r.range))
  if (row !== undefined) return row.category
  const range = addr.range()
  if (range !== 'unicast') return IPADDR_RANGE_CATEGORY[range] ?? 'reserved'
  if (!addr.match(GLOBAL_UNICAST_V6 as [ipaddr.IPv6, number])) return 'nonGlobal'
  return 'public'
}

// ---------------------------------------------------------------------------------------------
// Host literals

export interface HostLiteral {
  /** canonical address: dotted-quad IPv4, or compressed IPv6 without brackets and zone */
  ip: string
  family: 4 | 6
  /** IPv6 zone id (`fe80::1%eth0` → "eth0"), when one was given */
  zone?: string
}

/**
 * Parses one part of a legacy IPv4 literal the way inet_aton(3) and the WHATWG URL parser do:
 * `0x…` hexadecimal, a leading `0` octal, otherwise decimal. Returns undefined when the part
 * is not a number at all (then the host is a name, not an address).
 */
function parseV4Part (part: string): number | undefined {
  if (part === '') return undefined
  let digits = part
  let radix = 10
  if (/^0x/i.test(part)) {
    digits = part.slice(2)
    radix = 16
    if (digits === '') return 0 // WHATWG: "0x" alone is 0
    if (!/^[0-9a-f]+$/i.test(digits)) return undefined
  } else if (part.length > 1 && part.startsWith('0')) {
    digits = part.slice(1)
    radix = 8
    if (!/^[0-7]+$/.test(digits)) return undefined
  } else if (!/^\d+$/.test(part)) {
    return undefined
  }
  // BigInt keeps absurdly long parts exact instead of losing precision
  const value = BigInt(radix === 16 ? `0x${digits}` : radix === 8 ? `0o${digits}` : digits)
  return value > 0xffffffffn ? Number.POSITIVE_INFINITY : Number(value)
}

/** Legacy IPv4 literal (1 to 4 parts, each decimal/octal/hex, the last filling the remaining bytes) → dotted quad. */
function parseLegacyIPv4 (host: string): string | undefined {
  let parts = host.split('.')
  if (parts.length > 1 && parts[parts.length - 1] === '') parts = parts.slice(0, -1) // one trailing dot
  if (parts.length === 0 || parts.length > 4) return undefined
  const numbers: number[] = []
  for (const part of parts) {
    const n = parseV4Part(part)
    if (n === undefined) return undefined
    numbers.push(n)
  }
  const last = numbers[numbers.length - 1]
  const leading = numbers.slice(0, -1)
  if (leading.some(n => n > 255)) return undefined
  if (last >= 256 ** (5 - numbers.length)) return undefined
  let value = last
  leading.forEach((n, i) => { value += n * 256 ** (3 - i) })
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.')
}

/**
 * Recognises an IP literal in any spelling a URL, a resolver or inet_aton may accept and
 * returns it canonicalised, or null when the host is a name.
 *
 * IPv4: `127.0.0.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`, `0x7f.1`, `127.1`, `127.0.1`,
 * a trailing dot. IPv6: with or without brackets, embedded dotted IPv4, zone ids written
 * `%eth0` or URL-encoded `%25eth0`.
 * A WHATWG URL already normalises IPv4 spellings (`new URL('http://0x7f000001/').hostname`
 * is "127.0.0.1"), but raw hosts (resolver input, SDK endpoints, config) may not be.
 */
export function parseHostLiteral (host: string): HostLiteral | null {
  let h = host.trim()
  if (h === '') return null
  const bracketed = h.startsWith('[') && h.endsWith(']')
  if (bracketed) h = h.slice(1, -1)
  if (h.includes(':')) {
    let zone: string | undefined
    const pct = h.indexOf('%')
    if (pct !== -1) {
      zone = h.slice(pct + 1)
      if (zone.startsWith('25')) zone = zone.slice(2) // URL-encoded "%25" separator
      h = h.slice(0, pct)
    }
    const addr = parseIPv6(h)
    if (addr === undefined) return null
    const ip = addr.toNormalizedString() === '0:0:0:0:0:0:0:0' ? '::' : addr.toString()
    return zone ? { ip, family: 6, zone } : { ip, family: 6 }
  }
  if (bracketed) return null
  const v4 = parseLegacyIPv4(h)
  return v4 === undefined ? null : { ip: v4, family: 4 }
}
