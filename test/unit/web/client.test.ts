import { describe, expect, it } from 'vitest'
import { ApiError, formErrors } from '../../../web/src/api/client.js'

// The error bodies the server sends (src/plugins/errors.ts, src/sources/service.ts), as the UI reads them.
describe('API errors in forms (web UI)', () => {
  it('puts a save-time validation failure next to the field it names (details.field)', () => {
    const err = new ApiError(422, {
      code: 'SOURCE_VALIDATION_FAILED',
      message: 'Validation failed: Bucket "nope" does not exist at the S3 endpoint (region us-east-1). Check the bucket name.',
      details: { field: 'config.bucket', reason: 'no_such_bucket' },
    })
    expect(formErrors(err, ['name', 'config.bucket', 'config.region'])).toEqual({
      fields: { 'config.bucket': err.message },
      form: null,
    })
  })

  it('maps schema errors (details.errors[].path) to fields, missing and unknown properties included', () => {
    const err = new ApiError(400, {
      code: 'VALIDATION_FAILED',
      message: 'body/name must NOT have fewer than 1 characters',
      details: {
        errors: [
          { path: 'body/name', message: 'must NOT have fewer than 1 characters', params: { limit: 1 } },
          { path: 'body', message: 'must have required property \'role\'', params: { missingProperty: 'role' } },
          { path: 'body/config', message: 'must NOT have additional properties', params: { additionalProperty: 'colour' } },
        ],
      },
    })
    expect(err.fieldErrors()).toEqual({
      name: 'Must NOT have fewer than 1 characters',
      role: 'Must have required property \'role\'',
      'config.colour': 'Must NOT have additional properties',
    })
    // a field the form does not show is reported above the buttons, not lost
    const { fields, form } = formErrors(err, ['name', 'role'])
    expect(fields).toEqual({ name: 'Must NOT have fewer than 1 characters', role: 'Must have required property \'role\'' })
    expect(form).toBe('config.colour: Must NOT have additional properties')
  })

  it('matches a bare field name to the form\'s dotted one', () => {
    const err = new ApiError(400, { code: 'VALIDATION_FAILED', message: 'bucket is not valid', details: { field: 'bucket' } })
    expect(formErrors(err, ['config.bucket']).fields).toEqual({ 'config.bucket': 'bucket is not valid' })
  })

  it('shows an error about no field above the buttons', () => {
    const err = new ApiError(409, { code: 'CONFLICT', message: 'A secret named "acme" already exists.' })
    expect(formErrors(err, ['name'])).toEqual({ fields: {}, form: 'A secret named "acme" already exists.' })
  })

  it('tells a missing route (the API has not shipped it) from a missing resource', () => {
    expect(new ApiError(404, { code: 'NOT_FOUND', message: 'No route for GET /api/v1/agents/x/channels' }).routeMissing).toBe(true)
    expect(new ApiError(404, { code: 'NOT_FOUND', message: 'Data source not found.' }).routeMissing).toBe(false)
    expect(formErrors(new ApiError(404, { code: 'NOT_FOUND', message: 'No route for POST /x' }), []).form).toBe('The server does not support this yet (404).')
  })

  it('turns anything that is not an API error into a generic message', () => {
    expect(formErrors(new TypeError('x is undefined'), ['name'])).toEqual({ fields: {}, form: 'Something went wrong. Try again.' })
  })
})
