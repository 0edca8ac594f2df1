/**
 * A secret type (the vault entry's `type`): its value's fields, how a value is checked, shown
 * redacted and scrubbed from text. One file per type in this folder and one line in registry.ts
 * (docs/extending.md); a source kind names the types its config refers to (src/kinds/types.ts).
 */
export interface SecretTypeDescriptor<V> {
  type: string
  /** the value's fields, all strings; anything else in an API value is refused */
  fields: { required: readonly string[], optional: readonly string[] }
  /**
   * An API value → the stored value: exactly the type's fields, each checked. Called with an object
   * that has no unknown field and every required field present. Throws VALIDATION_FAILED naming
   * `value.<field>`; messages never echo a value.
   */
  parse (input: Record<string, unknown>): V
  /** the `redacted` object of API output: secret strings as `mt_byo_****` + last four (redactValue), names in clear */
  redact (value: V): Record<string, string>
  /** every sensitive string of a value as it is; collectSecretStrings adds the encoded forms */
  secretStrings (value: V): string[]
  /** a value Ferry makes when a secret is created without one (a webhook signing secret), shown once */
  generate? (): { value: V, shown: string }
  /** a replaced value stays valid for an overlap (FERRY_WEBHOOK_SECRET_OVERLAP_HOURS, docs/security.md) */
  keepsPrevious?: boolean
  /** a new value is tried with the save-time ping of every source using the secret before it is stored */
  triedBySourcePing: boolean
}
