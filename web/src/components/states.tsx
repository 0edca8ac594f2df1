import type { ComponentChildren } from 'preact'
import type { ApiError } from '../api/client'

/** Loading, empty and error states: every view that loads something shows one of these. */

export function Loading ({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class="state state-loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  )
}

export function Empty ({ title, children }: { title: string, children?: ComponentChildren }) {
  return (
    <div class="state state-empty">
      <p class="state-title">{title}</p>
      {children && <div class="state-body">{children}</div>}
    </div>
  )
}

/** What a person can do about an API error, in words. */
export function describeError (error: ApiError, what = 'This'): { title: string, body: string } {
  if (error.routeMissing) {
    return {
      title: `${what} is not available on this server yet.`,
      body: 'The server does not offer this part of the API (404). It appears here once the server supports it.',
    }
  }
  if (error.status === 0) return { title: 'The server could not be reached.', body: error.message }
  if (error.status === 404) return { title: `${what} was not found.`, body: 'It may have been deleted, or it belongs to another organisation.' }
  if (error.status === 401) return { title: 'Your API key was not accepted.', body: 'Sign in again with a valid key.' }
  if (error.status === 403) return { title: 'This API key may not do that.', body: error.message }
  if (error.status >= 500) return { title: 'The server had a problem.', body: `${error.message} Try again in a moment.` }
  return { title: error.message, body: error.code }
}

export function ErrorState ({ error, what, onRetry, compact }: { error: ApiError, what?: string, onRetry?: () => void, compact?: boolean }) {
  const { title, body } = describeError(error, what)
  return (
    <div class={`state state-error${compact ? ' compact' : ''}`} role="alert" data-error-code={error.code} data-status={error.status}>
      <p class="state-title">{title}</p>
      <p class="state-body">{body}</p>
      {onRetry && !error.routeMissing && error.status !== 404 && <button type="button" class="btn" onClick={onRetry}>Try again</button>}
    </div>
  )
}

/** A form-level error (one that concerns no single field). */
export function FormError ({ error }: { error?: string | null }) {
  if (!error) return null
  return <p class="form-error" role="alert">{error}</p>
}
