export default /* sql */ `
-- Which source kinds and secret types exist is the code's to say (src/kinds/registry.ts,
-- src/vault/types/registry.ts; docs/extending.md): a CHECK listing them here would make every new kind
-- or secret type a migration too, and the API validates both before anything is written. The
-- columns stay NOT NULL text; a row of a kind this build does not know is refused where it is read.
ALTER TABLE data_sources DROP CONSTRAINT data_sources_type_check;
ALTER TABLE secrets DROP CONSTRAINT secrets_type_check;
`
