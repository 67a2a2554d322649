import { type Plugin, defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The dev server injects an inline script (React Fast Refresh) that the page's strict CSP would
 * block; `dev:web` drops the CSP meta tag. Builds keep it.
 */
const relaxCspInDev: Plugin = {
  name: 'deaddrop-relax-csp-in-dev',
  apply: 'serve',
  transformIndexHtml: (html) => html.replace(/<meta\s+http-equiv="Content-Security-Policy"[^>]*>/s, ''),
};

/**
 * The renderer is a static bundle: Electron loads it from its app scheme, the WebSocket test host
 * serves it over http. Relative asset paths (`base: './'`) work for both.
 */
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react(), relaxCspInDev],
  build: {
    outDir: '../dist-renderer',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
});
