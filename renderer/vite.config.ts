import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The renderer is a static bundle: Electron loads it from its app scheme, the WebSocket test host
 * serves it over http. Relative asset paths (`base: './'`) work for both.
 */
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist-renderer',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
});
