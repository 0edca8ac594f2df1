import { seg } from './client'

/** API paths (under /api/v1) shared by several views. */
export const agentPath = (agentId: string) => `/agents/${seg(agentId)}`
export const sourcesPath = (agentId: string) => `${agentPath(agentId)}/data-sources`
export const sourcePath = (agentId: string, sourceId: string) => `${sourcesPath(agentId)}/${seg(sourceId)}`
