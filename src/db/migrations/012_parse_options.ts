export default /* sql */ `
-- The XLSX sheet to read moves from the agent (mapping.sheetName, one sheet for every source and
-- upload of the agent) to each inventory source (config.parse.sheet, docs/formats.md). Every
-- inventory source of an agent that had one gets it, unless the source already names a sheet;
-- then the agent field goes.
UPDATE data_sources ds
SET config = jsonb_set(ds.config, '{parse}',
  coalesce(ds.config->'parse', '{}'::jsonb) || jsonb_build_object('sheet', a.mapping->'sheetName'))
FROM agents a
WHERE ds.agent_id = a.id AND ds.role = 'INVENTORY_SOURCE'
  AND jsonb_typeof(a.mapping->'sheetName') = 'string'
  AND NOT (coalesce(ds.config->'parse', '{}'::jsonb) ? 'sheet');

UPDATE agents SET mapping = mapping - 'sheetName' WHERE mapping ? 'sheetName';
`
