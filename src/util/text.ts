/**
 * Text PostgreSQL cannot store. U+0000: text and jsonb refuse it on both backends ("invalid byte
 * sequence", "unsupported Unicode escape sequence"). A lone UTF-16 surrogate (half of a pair): jsonb
 * refuses it, and in a text column the UTF-8 encoder would silently store U+FFFD instead. Both reach
 * Ferry through JSON escapes (`"\u0000"`, `"\ud800"`) in API bodies and inventory files, and through
 * XML character references in XLSX. Checked where client text enters (docs/security.md): the API answers
 * 400, a file rejects the row; an internal write never meets one and never fails with a 500.
 */

/** a NUL or any surrogate: cheap to test on every string; a hit is then checked for pairs */
const SUSPECT = /[\u0000\ud800-\udfff]/
const NUL = /\u0000/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

export type TextFlaw = 'a NUL character (U+0000)' | 'an unpaired UTF-16 surrogate (invalid Unicode)'

export function textFlaw (s: string): TextFlaw | undefined {
  if (!SUSPECT.test(s)) return undefined
  if (NUL.test(s)) return 'a NUL character (U+0000)'
  if (LONE_SURROGATE.test(s)) return 'an unpaired UTF-16 surrogate (invalid Unicode)'
  return undefined
}

/** Where a flaw sits in a JSON-like value. */
export interface FlawAt {
  flaw: TextFlaw
  /**
   * JSON-pointer-style path from the root (`/mapping/fieldMap`, `/3/name`); for a flaw in a key, the
   * path of the object holding it (so the path itself never carries the flaw)
   */
  path: string
  inKey: boolean
}

/** `{}`, `Object.create(null)`, or the query-string parser's objects (a prototype without a prototype); not a stream or a Buffer */
const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null || Object.getPrototypeOf(proto) === null
}

/**
 * The first flaw in the strings and keys of a JSON-like value (plain objects, arrays, strings; anything
 * else — a stream, a Buffer — is not looked into), walked without recursion. A flat record of strings
 * costs one regex test per key and per value, and no allocation.
 */
export function findTextFlaw (root: unknown): FlawAt | undefined {
  const stack: Array<{ value: unknown, path: string }> = [{ value: root, path: '' }]
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown, path: string }
    if (typeof value === 'string') {
      const flaw = textFlaw(value)
      if (flaw !== undefined) return { flaw, path, inKey: false }
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i]
        if (typeof item === 'string') {
          const flaw = textFlaw(item)
          if (flaw !== undefined) return { flaw, path: `${path}/${i}`, inKey: false }
        } else if (item !== null && typeof item === 'object') {
          stack.push({ value: item, path: `${path}/${i}` })
        }
      }
    } else if (value !== null && typeof value === 'object' && isPlainObject(value)) {
      const object = value as Record<string, unknown>
      // plain objects from JSON or the parsers: own enumerable keys only, so for…in needs no Object.keys array
      for (const key in object) {
        const keyFlaw = textFlaw(key)
        if (keyFlaw !== undefined) return { flaw: keyFlaw, path, inKey: true }
        const item = object[key]
        if (typeof item === 'string') {
          const flaw = textFlaw(item)
          if (flaw !== undefined) return { flaw, path: `${path}/${key}`, inKey: false }
        } else if (item !== null && typeof item === 'object') {
          stack.push({ value: item, path: `${path}/${key}` })
        }
      }
    }
  }
  return undefined
}

/** `s` with each NUL and lone surrogate replaced by U+FFFD: for text Ferry writes about client input (reasons, warnings, names). */
export function storableText (s: string): string {
  if (textFlaw(s) === undefined) return s
  return s.replace(/\u0000/g, '\ufffd').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd')
}
