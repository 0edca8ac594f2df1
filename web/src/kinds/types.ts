import type { JSX } from 'preact'
import type { DataSource, SecretType, SourceRole } from '../api/types'

/** The form's values of a kind's own config fields, by config field name. */
export type FieldValues = Record<string, string | boolean>

export interface KindFieldsProps {
  values: FieldValues
  set: (field: string, value: string | boolean) => void
  /** errors by field path ("config.bucket") */
  errors: Record<string, string>
  inbound: boolean
  editing: boolean
  /** renders a secret picker for a config field, with "New secret…" (a function, not a component: called inline, it keeps its focus) */
  secretSelect: (p: { label: string, field: string, type: SecretType, optional: boolean | string, hint?: string }) => JSX.Element
}

/**
 * What the UI knows of one source kind (src/kinds/<type>/ on the server; docs/extending.md): its
 * form fields, how its config is built from them, how a card names its target. One module per
 * kind in this folder and one line in registry.ts.
 */
export interface WebKind {
  type: string
  /** "S3", "Webhook": the card's "S3 source" */
  label: string
  /** the Type select's option */
  optionLabel: (inbound: boolean) => string
  Icon: () => JSX.Element
  /** the icon's tooltip: "S3 bucket" */
  iconTitle: string
  roles: readonly SourceRole[]
  /** Ferry pulls its inventory sources: schedule, Pull now, preview */
  pulled: boolean
  /** an inventory source Ferry does not pull: when its files come, on the card and in the overview's "next run" */
  arrival?: { schedule: string, nextRun: string }
  /** the kind's config fields and their empty values (format and import options are the form's) */
  defaults: FieldValues
  Fields: (p: KindFieldsProps) => JSX.Element | null
  /** the values → the API's config, without format and import options */
  toConfig: (values: FieldValues, inbound: boolean) => Record<string, unknown>
  /** the Format select's empty choice; undefined: no Format select for this role */
  formatDefault: (inbound: boolean) => string | undefined
  /** the hint of "Check the connection when saving"; undefined: there is nothing to check */
  validateHint: (inbound: boolean) => string | undefined
  /** where a source reads or a sink writes, one line */
  target: (source: DataSource) => string
  /** after the target: e.g. the region and endpoint */
  targetNote?: (source: DataSource) => string | undefined
  /** the target is a URL to copy (an inbound webhook's receive URL): the label of the fact */
  copyTarget?: (inbound: boolean) => string | undefined
  /** the card's label of each secret field */
  secretLabels: (inbound: boolean) => Partial<Record<'secretRef' | 'headerSecretRef', string>>
}
