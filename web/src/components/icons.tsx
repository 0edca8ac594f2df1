// Inline SVG icons (decorative: aria-hidden; the text next to them carries the meaning).

const base = {
  width: 20, height: 20, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor',
  'stroke-width': 1.8, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false',
} as const

/** S3 bucket */
export const BucketIcon = () => (
  <svg {...base} class="icon"><path d="M4 6c0 1.7 3.6 3 8 3s8-1.3 8-3-3.6-3-8-3-8 1.3-8 3z" /><path d="M4 6l1.8 13c.2 1.2 2.9 2 6.2 2s6-.8 6.2-2L20 6" /></svg>
)

/** webhook */
export const WebhookIcon = () => (
  <svg {...base} class="icon">
    <path d="M18 16.98h-5.99c-1.1 0-1.95.94-2.48 1.9A4 4 0 0 1 2 17c.01-.7.2-1.4.57-2" />
    <path d="m6 17 3.13-5.78c.53-.97.1-2.18-.5-3.1a4 4 0 1 1 6.89-4.06" />
    <path d="m12 6 3.13 5.73C15.66 12.7 16.9 13 18 13a4 4 0 0 1 0 8" />
  </svg>
)

export const CheckIcon = () => <svg {...base} class="icon icon-sm"><path d="M5 12.5l4.5 4.5L19 7.5" /></svg>
export const CrossIcon = () => <svg {...base} class="icon icon-sm"><path d="M6 6l12 12M18 6L6 18" /></svg>

/** Ferry's mark (the same drawing as the favicon). */
export const Logo = ({ size = 22 }: { size?: number }) => (
  <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false" class="logo">
    <rect width="32" height="32" rx="7" fill="#1d4ed8" />
    <path d="M6 19h20l-3 6H9z" fill="#fff" />
    <path d="M15 7v10h-6z M17 9l6 8h-6z" fill="#bfdbfe" />
  </svg>
)
