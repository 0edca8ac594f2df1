// Asset and style imports handled by Vite.
declare module '*.css'
declare module '*.svg' {
  const url: string
  export default url
}
