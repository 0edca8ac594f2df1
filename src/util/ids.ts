import { v7 } from 'uuid'

/**
 * Every Ferry id is a UUIDv7: time-ordered, so "newest first" and keyset pagination can order by
 * id alone (timestamps lose precision on the way to JSON; ids don't).
 */
export const newId = (): string => v7()
