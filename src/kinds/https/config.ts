import { Type, type Static } from 'typebox'
import type { ImportOptionsConfig } from '../../domain/source.js'
import { Format, ImportOptions, SecretId } from '../config-fields.js'

/**
 * `config` of an HTTPS file source (docs/recipes/pull-inventory-from-a-url.md): one file at a URL, fetched with a
 * conditional GET on the schedule. Inventory sources only.
 */
export const HttpsConfig = Type.Object({
  url: Type.String({
    minLength: 1, maxLength: 2048, pattern: '^https?://',
    description: 'the file\'s URL, e.g. "https://supplier.example/feeds/stock.csv"; redirects are not followed; obeys the private-network rule. ' +
      'A token in the query string is stored in clear: prefer an http_header secret',
  }),
  format: Type.Optional(Format('the file\'s format (absent: detected from the name in the URL\'s path and the content)')),
  headerSecretRef: Type.Optional(SecretId('the id of an "http_header" secret sent with every request, e.g. Authorization: Bearer …')),
  ...ImportOptions,
}, { additionalProperties: false, description: 'a file at an HTTPS URL (source only)' })

/** A stored config: the import options as normalised (src/sources/service.ts). */
export type HttpsConfig = Omit<Static<typeof HttpsConfig>, 'parse' | 'fieldMap'> & ImportOptionsConfig
