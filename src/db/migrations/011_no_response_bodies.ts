/**
 * Push attempts used to keep `bodyExcerpt`, the first 256 characters of the receiver's answer. A
 * target's response body is never shown to the tenant (docs/security.md): the excerpts already
 * stored are removed from closed syncs' manifests and from running syncs' journal entries.
 */
const WITHOUT_EXCERPTS = (entry: string) => `
  CASE WHEN jsonb_typeof(${entry}->'attempts') = 'array' THEN jsonb_set(${entry}, '{attempts}', (
    SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(a) = 'object' THEN a - 'bodyExcerpt' ELSE a END ORDER BY n), '[]'::jsonb)
    FROM jsonb_array_elements(${entry}->'attempts') WITH ORDINALITY AS x(a, n)))
  ELSE ${entry} END`

export default /* sql */ `
UPDATE syncs SET manifest_json = (
  SELECT coalesce(jsonb_agg(${WITHOUT_EXCERPTS('e')} ORDER BY i), '[]'::jsonb)
  FROM jsonb_array_elements(manifest_json) WITH ORDINALITY AS m(e, i))
WHERE direction = 'outbound' AND jsonb_typeof(manifest_json) = 'array' AND strpos(manifest_json::text, '"bodyExcerpt"') > 0;

UPDATE sync_manifest_entries SET entry = ${WITHOUT_EXCERPTS('entry')}
WHERE strpos(entry::text, '"bodyExcerpt"') > 0;
`
