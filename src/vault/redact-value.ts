/** Prefix of every redacted value shown in API output (docs/security.md, "What is stored, and how"). */
export const REDACTED_PREFIX = 'mt_byo_****'

/**
 * Values shorter than this are shown as the bare prefix, without their last four characters:
 * showing four characters of a seven-character secret would give away most of it.
 */
export const REDACT_MIN_LENGTH_FOR_SUFFIX = 8

/**
 * The API display form of one secret value: `mt_byo_****` + its last four characters
 * (`AKIAIOSFODNN7EXAMPLE` → `mt_byo_****MPLE`).
 *
 * Values shorter than {@link REDACT_MIN_LENGTH_FOR_SUFFIX} characters are shown as `mt_byo_****`
 * alone, so a short secret never has half of itself on display. Characters are counted as code
 * points, so a suffix never splits a surrogate pair.
 */
export function redactValue (plain: string): string {
  const chars = Array.from(plain)
  if (chars.length < REDACT_MIN_LENGTH_FOR_SUFFIX) return REDACTED_PREFIX
  return REDACTED_PREFIX + chars.slice(-4).join('')
}
